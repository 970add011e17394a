/* svg.c - line and bar charts as inline SVG, see svg.h. */
#include "svg.h"
#include <inttypes.h>
#include "html.h"

#define W 960
#define H 320
#define ML 64 /* margins: room for the y labels and the end-of-line numbers */
#define MR 40
#define MT 16
#define MB 44

/* Okabe-Ito colours (distinguishable with the common colour-vision
 * deficiencies), each with its own dash pattern. */
const char svg_css[] =
	".s0{stroke:#000;stroke-width:3}"
	".s1{stroke:#d55e00;stroke-dasharray:9 4}"
	".s2{stroke:#0072b2;stroke-dasharray:2 3}"
	".s3{stroke:#009e73;stroke-dasharray:12 3 2 3}"
	".s4{stroke:#cc79a7;stroke-dasharray:5 5}"
	".s5{stroke:#e69f00;stroke-dasharray:1 4}"
	".s6{stroke:#56b4e9;stroke-dasharray:14 3 2 3 2 3}"
	"svg.chart{width:100%;max-width:960px;height:auto;font:11px sans-serif}"
	"svg.chart .ln{fill:none;stroke-width:2}"
	"svg.chart .s0.ln{stroke-width:3}"
	"svg.chart .ax{stroke:#555;stroke-width:1}"
	"svg.chart .grid{stroke:#ddd;stroke-width:1}"
	"svg.chart .mk{stroke:#b00;stroke-width:1.5;stroke-dasharray:3 2}"
	"svg.chart .mkt{fill:#b00;font-weight:bold}"
	"svg.chart .bar{fill:#4a78b5}"
	"svg.chart .bar.pm{fill:url(#hatch)}";

void svg_defs(FILE *f)
{
	fputs("<svg width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\"><defs>"
	      "<pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
	      "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#4a78b5\"/>"
	      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#fff\" stroke-width=\"3\"/>"
	      "</pattern></defs></svg>\n",
	      f);
}

/* A "nice" step (1, 2 or 5 times a power of ten) for about n ticks. */
static double nice_step(double span, int n)
{
	/* by loops, not log10/pow: sockreport does not link libm */
	if (!(span > 0))
		return 1;
	double raw = span / n, p = 1;
	while (p > raw)
		p /= 10;
	while (p * 10 <= raw)
		p *= 10;
	double r = raw / p;
	return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * p;
}

/* The smallest multiple of step >= v (v, step > 0). */
static double roundup(double v, double step)
{
	double k = (double)(uint64_t)(v / step);
	return k * step < v ? (k + 1) * step : k * step;
}

static void num(FILE *f, double v)
{
	fprintf(f, "%.6g", v);
}

void svg_line_chart(FILE *f, const char *id, const char *desc, const char *ylabel,
		    const struct svg_line *lines, size_t nlines, const struct svg_mark *marks,
		    size_t nmarks)
{
	double xmax = 0, ymax = 0;
	for (size_t l = 0; l < nlines; l++)
		for (size_t i = 0; i < lines[l].n; i++) {
			if (lines[l].x[i] > xmax)
				xmax = lines[l].x[i];
			if (lines[l].y[i] > ymax)
				ymax = lines[l].y[i];
		}
	double xs = nice_step(xmax, 8), ys = nice_step(ymax, 5);
	xmax = xmax > 0 ? roundup(xmax, xs) : 1;
	ymax = ymax > 0 ? roundup(ymax, ys) : 1;
	const double pw = W - ML - MR, ph = H - MT - MB;
#define PX(v) (ML + (v) / xmax * pw)
#define PY(v) (MT + ph - (v) / ymax * ph)
	fprintf(f, "<figure><svg class=\"chart\" id=\"%s\" viewBox=\"0 0 %d %d\" role=\"img\" "
		   "aria-labelledby=\"%s-d\"><desc id=\"%s-d\">", id, W, H, id, id);
	html_text(f, desc);
	fputs("</desc>\n", f);
	for (int i = 0; i * ys <= ymax + ys / 2; i++) {
		double y = i * ys;
		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
			   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">",
			ML, W - MR, PY(y), PY(y), ML - 6, PY(y) + 4);
		num(f, y);
		fputs("</text>\n", f);
	}
	for (int i = 0; i * xs <= xmax + xs / 2; i++) {
		double x = i * xs;
		fprintf(f, "<line class=\"ax\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
			   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">",
			PX(x), PX(x), H - MB, H - MB + 5, PX(x), H - MB + 18);
		num(f, x);
		fputs("s</text>\n", f);
	}
	fprintf(f, "<line class=\"ax\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
		   "<line class=\"ax\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
		   "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">seconds from the start</text>"
		   "<text transform=\"translate(14 %d) rotate(-90)\" text-anchor=\"middle\">",
		ML, W - MR, H - MB, H - MB, ML, ML, MT, H - MB, ML + (W - ML - MR) / 2, H - 8,
		MT + (H - MT - MB) / 2);
	html_text(f, ylabel);
	fputs("</text>\n", f);
	for (size_t k = 0; k < nmarks; k++) {
		double x = PX(marks[k].x);
		fprintf(f, "<g class=\"marker\"><title>");
		html_text(f, marks[k].title);
		fprintf(f, "</title><line class=\"mk\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
			   "<path d=\"M%.1f %d l-5 -8 h10z\" fill=\"#b00\"/>"
			   "<text class=\"mkt\" x=\"%.1f\" y=\"%d\">",
			x, x, MT, H - MB, x, MT + 8, x + 6, MT + 10 + (int)(k % 4) * 12);
		html_text(f, marks[k].label);
		fputs("</text></g>\n", f);
	}
	for (size_t l = 0; l < nlines; l++) {
		const struct svg_line *L = &lines[l];
		if (!L->n)
			continue;
		/* data-last: the value at the end, readable by tests and tools */
		fprintf(f, "<g class=\"series\" data-series=\"%zu\" data-last=\"%.0f\"><title>", l,
			L->y[L->n - 1]);
		html_text(f, L->label);
		fprintf(f, "</title><polyline class=\"ln s%zu\" points=\"", l % SVG_NSTYLES);
		for (size_t i = 0; i < L->n; i++)
			fprintf(f, "%s%.1f,%.1f", i ? " " : "", PX(L->x[i]), PY(L->y[i]));
		/* the line's number at its end: the legend says which is which */
		fprintf(f, "\"/><text x=\"%.1f\" y=\"%.1f\" font-weight=\"bold\">%zu</text></g>\n",
			PX(L->x[L->n - 1]) + 4, PY(L->y[L->n - 1]) + 4, l + 1);
	}
	fputs("</svg>\n<figcaption><ol class=\"legend\">", f);
	for (size_t l = 0; l < nlines; l++) {
		fprintf(f, "<li><b>%zu</b> <svg width=\"44\" height=\"10\" aria-hidden=\"true\"><line "
			   "class=\"ln s%zu\" x1=\"0\" x2=\"44\" y1=\"5\" y2=\"5\" "
			   "style=\"fill:none;stroke-width:2\"/></svg> ",
			l + 1, l % SVG_NSTYLES);
		html_text(f, lines[l].label);
		fputs("</li>", f);
	}
	fputs("</ol></figcaption></figure>\n", f);
#undef PX
#undef PY
}

void svg_bars(FILE *f, const char *id, const char *desc, const struct svg_bar *b, size_t n)
{
	uint64_t max = 1;
	for (size_t i = 0; i < n; i++)
		if (b[i].count > max)
			max = b[i].count;
	const int h = 200, mt = 18, mb = 46, ml = 8;
	double bw = n ? (double)(W - 2 * ml) / (double)n : 0;
	if (bw > 60)
		bw = 60;
	fprintf(f, "<svg class=\"chart hist\" id=\"%s\" viewBox=\"0 0 %d %d\" role=\"img\" "
		   "aria-labelledby=\"%s-d\"><desc id=\"%s-d\">", id, W, h, id, id);
	html_text(f, desc);
	fputs("</desc>\n", f);
	for (size_t i = 0; i < n; i++) {
		double x = ml + (double)i * bw, bh = (double)b[i].count / (double)max * (h - mt - mb);
		double y = h - mb - bh;
		char marks[16] = "";
		snprintf(marks, sizeof(marks), "%s%s%s", b[i].mark & 1 ? " p50" : "",
			 b[i].mark & 2 ? " p90" : "", b[i].mark & 4 ? " p99" : "");
		fprintf(f, "<g><title>%s: %" PRIu64 "%s%s</title><rect class=\"bar%s\" x=\"%.1f\" "
			   "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
			   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%" PRIu64 "</text>"
			   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>",
			b[i].label, b[i].count, b[i].mark ? ", holds" : "", marks,
			b[i].mark ? " pm" : "", x + 1, y, bw - 2, bh, x + bw / 2, y - 3, b[i].count,
			x + bw / 2, h - mb + 14, b[i].label);
		if (b[i].mark)
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
				   "font-weight=\"bold\">%s</text>",
				x + bw / 2, h - mb + 28, marks + 1);
		fputs("</g>\n", f);
	}
	fputs("</svg>\n", f);
}
