/* icicle.c - folded stacks -> icicle SVG, see icicle.h. */
#include "icicle.h"
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"

#define IW 960
#define ROW 18
#define CHAR_PX 6.6 /* 11px monospace */
/* At most this many frames per graph (about 250 bytes each): the minimum
 * width drawn starts at half a pixel and doubles until they fit. */
#define MAX_FRAMES 2000

struct inode {
	const char *name; /* into the folded text (not NUL-terminated) */
	size_t len;
	uint64_t v;
	size_t child, next; /* 0: none (node 0 is the root, never a child) */
};

struct itree {
	struct inode *n;
	size_t count, cap;
};

static size_t node_new(struct itree *t, const char *name, size_t len)
{
	if (t->count == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 256;
		struct inode *nn = realloc(t->n, nc * sizeof(*nn));
		if (!nn)
			return 0;
		t->n = nn;
		t->cap = nc;
	}
	t->n[t->count] = (struct inode){ .name = name, .len = len };
	return t->count++;
}

/* The child of p named name, created last among its siblings. */
static size_t child_of(struct itree *t, size_t p, const char *name, size_t len)
{
	size_t last = 0;
	for (size_t c = t->n[p].child; c; c = t->n[c].next) {
		if (t->n[c].len == len && !memcmp(t->n[c].name, name, len))
			return c;
		last = c;
	}
	size_t c = node_new(t, name, len);
	if (!c)
		return 0;
	if (last)
		t->n[last].next = c;
	else
		t->n[p].child = c;
	return c;
}

/* One folded line into the tree; -1 on ENOMEM, 0 (skipped) if malformed. */
static int add_line(struct itree *t, const char *s, size_t len)
{
	const char *sp = NULL;
	for (size_t i = len; i-- > 0;)
		if (s[i] == ' ') {
			sp = s + i;
			break;
		}
	if (!sp)
		return 0;
	uint64_t v = strtoull(sp + 1, NULL, 10);
	if (!v)
		return 0;
	t->n[0].v += v;
	size_t p = 0;
	for (const char *a = s; a < sp;) {
		const char *b = memchr(a, ';', (size_t)(sp - a));
		if (!b)
			b = sp;
		p = child_of(t, p, a, (size_t)(b - a));
		if (!p)
			return -1;
		t->n[p].v += v;
		a = b + 1;
	}
	return 0;
}

/* A stable colour per frame name (warm hues, like flame graphs); the name
 * is always printed too, so colour is not the signal. */
static void colour(char *buf, size_t cap, const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	snprintf(buf, cap, "hsl(%u,%u%%,%u%%)", 10 + h % 45, 60 + (h >> 8) % 30, 62 + (h >> 16) % 14);
}

static size_t count_wide(const struct itree *t, size_t i, uint64_t total, double minpx)
{
	if ((double)t->n[i].v / (double)total * IW < minpx)
		return 0;
	size_t k = 1;
	for (size_t c = t->n[i].child; c; c = t->n[c].next)
		k += count_wide(t, c, total, minpx);
	return k;
}

static void draw(FILE *f, const struct itree *t, size_t i, double x, int depth, uint64_t total,
		 const char *what, double minpx, size_t *skipped)
{
	const struct inode *n = &t->n[i];
	double w = (double)n->v / (double)total;
	if (w * IW < minpx) {
		(*skipped)++;
		return;
	}
	if (i) {
		char col[40];
		colour(col, sizeof(col), n->name, n->len);
		fprintf(f, "<g class=\"fr\" data-x=\"%.6f\" data-w=\"%.6f\" data-d=\"%d\" tabindex=\"0\">"
			   "<title>", x, w, depth);
		html_textn(f, n->name, n->len);
		fprintf(f, " \xe2\x80\x94 %" PRIu64 " %s (%.1f%%)</title><rect x=\"%.1f\" y=\"%d\" "
			   "width=\"%.1f\" height=\"%d\" fill=\"%s\"/><text x=\"%.1f\" y=\"%d\">",
			n->v, what, 100.0 * w, x * IW, (depth - 1) * ROW, w * IW - 1 > 0 ? w * IW - 1 : 0,
			ROW - 1, col, x * IW + 3, (depth - 1) * ROW + 13);
		double room = (w * IW - 6) / CHAR_PX;
		if (room >= 3) {
			/* the script recomputes this when zooming, from <title> */
			char *tmp = strndup(n->name, n->len);
			if (tmp)
				html_text_cut(f, tmp, (size_t)room - 1);
			free(tmp);
		}
		fputs("</text></g>\n", f);
	}
	double cx = x;
	for (size_t c = n->child; c; c = t->n[c].next) {
		draw(f, t, c, cx, depth + 1, total, what, minpx, skipped);
		cx += (double)t->n[c].v / (double)total;
	}
}

static int max_depth(const struct itree *t, size_t i, uint64_t total, double minpx)
{
	int d = 0;
	if ((double)t->n[i].v / (double)total * IW < minpx)
		return -1;
	for (size_t c = t->n[i].child; c; c = t->n[c].next) {
		int k = max_depth(t, c, total, minpx);
		if (k > d)
			d = k;
	}
	return d + 1;
}

int icicle_svg(FILE *f, const char *id, const char *desc, const char *folded, size_t len,
	       const char *what)
{
	struct itree t = { 0 };
	if (!node_new(&t, "all", 3) && !t.count)
		return -1;
	for (const char *p = folded, *e = folded + len; p < e;) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		if (!nl)
			nl = e;
		if (add_line(&t, p, (size_t)(nl - p))) {
			free(t.n);
			return -1;
		}
		p = nl + 1;
	}
	if (!t.n[0].v) {
		fprintf(f, "<p class=\"none\">(no %s)</p>\n", what);
		free(t.n);
		return 0;
	}
	double minpx = 0.5;
	while (count_wide(&t, 0, t.n[0].v, minpx) > MAX_FRAMES + 1)
		minpx *= 2;
	int depth = max_depth(&t, 0, t.n[0].v, minpx) - 1;
	size_t skipped = 0;
	fprintf(f, "<div class=\"icicle-wrap\"><button type=\"button\" class=\"unzoom\" "
		   "data-for=\"%s\">Reset zoom</button>\n"
		   "<svg class=\"chart icicle\" id=\"%s\" viewBox=\"0 0 %d %d\" role=\"img\" "
		   "aria-labelledby=\"%s-d\" data-total=\"%" PRIu64 "\"><desc id=\"%s-d\">",
		id, id, IW, depth * ROW, id, t.n[0].v, id);
	html_text(f, desc);
	fputs("</desc>\n", f);
	draw(f, &t, 0, 0, 0, t.n[0].v, what, minpx, &skipped);
	fputs("</svg></div>\n", f);
	if (skipped)
		fprintf(f, "<p class=\"note\">%zu frames narrower than %g pixel%s are not drawn "
			   "(their counts are in their callers' widths; sockreport allocs --folded has "
			   "them all).</p>\n",
			skipped, minpx, minpx > 1 ? "s" : "");
	free(t.n);
	return 0;
}
