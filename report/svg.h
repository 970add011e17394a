/* svg.h - the charts of `sockreport html`, as inline SVG.
 *
 * Drawn in C so that the page needs no script library: the charts are
 * static markup, readable with scripts off, and their text is selectable.
 * Colour is never the only signal: every line also has its own dash
 * pattern and a number printed at its end and in the legend; every bar
 * carries its count as text.
 */
#ifndef SOCKREPORT_SVG_H
#define SOCKREPORT_SVG_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct svg_line {
	const char *label;   /* legend text (escaped when written) */
	const double *x, *y; /* n points, x in seconds */
	size_t n;
};

/* A vertical marker at x (e.g. where CLOSE_WAIT strandings start). */
struct svg_mark {
	double x;
	const char *label; /* short text drawn at the marker */
	const char *title; /* tooltip */
};

/* A line chart: lines[0] is drawn first and gets style 0 (solid black,
 * thick: the total).  id: the element id; desc: the accessible description. */
void svg_line_chart(FILE *f, const char *id, const char *desc, const char *ylabel,
		    const struct svg_line *lines, size_t nlines, const struct svg_mark *marks,
		    size_t nmarks);

struct svg_bar {
	char label[32];
	uint64_t count;
	int mark; /* bits: 1 p50, 2 p90, 4 p99 fall in it: drawn hatched, named below */
};

void svg_bars(FILE *f, const char *id, const char *desc, const struct svg_bar *b, size_t n);

/* The number of line styles before they repeat. */
#define SVG_NSTYLES 7
/* The CSS of the styles (colours, dashes, hatch patterns) for the page. */
extern const char svg_css[];
/* The <svg> defs every chart refers to (patterns), written once per page. */
void svg_defs(FILE *f);

#endif
