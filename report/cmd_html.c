/* cmd_html.c - `sockreport html FILE -o OUT.html` (and `html BASE NEW`):
 * one self-contained page to attach to a ticket.
 *
 * Everything is inline (CSS, SVG charts drawn here, a small script that
 * only zooms the flame graphs), nothing is fetched when the page is
 * opened, and it works from file://.  The page holds aggregates only:
 * the numbers of `leaks`, `latency`, `allocs --folded` and `diff`, computed
 * by their own code (leakset.c, latency.c, cmd_allocs.c, cmd_diff.c) in one
 * streaming pass, plus a per-site time series in SERIES_N buckets.  Its
 * size is bounded by the tables' row limits and the drawings' widths, not
 * by the number of events.
 *
 * The output file is created like sockrec's trace (format/outfile.c): mode
 * 0600, never through a symlink, never over an existing file without -f;
 * it is removed again when the page cannot be completed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "diffcore.h"
#include "html.h"
#include "icicle.h"
#include "latency.h"
#include "leakset.h"
#include "outfile.h"
#include "out.h"
#include "series.h"
#include "stacks.h"
#include "svg.h"
#include "wallclock.h"
#include "sites.h"
#include "commands.h"

#define TOP_GROUPS 30   /* rows per leak table; the rest is counted */
#define TOP_LINES 6     /* allocation sites drawn over time, besides the total */
#define TOP_MARKS 12    /* CLOSE_WAIT markers on the chart */
#define TOP_DIFF 100    /* diff rows */

static const char page_css[] =
	"body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:0 16px 40px;"
	"color:#111;background:#fff}"
	"h1{font-size:1.4em;margin:16px 0 4px}h2{border-bottom:2px solid #333;margin-top:32px}"
	"table{border-collapse:collapse;margin:8px 0}td,th{padding:2px 8px;text-align:left;"
	"vertical-align:top;border-bottom:1px solid #ddd}td.n,th.n{text-align:right;"
	"font-variant-numeric:tabular-nums}"
	"code,pre{font:12px/1.35 ui-monospace,monospace}pre{background:#f6f6f6;padding:6px;"
	"overflow-x:auto;margin:4px 0}"
	".alert{border:4px solid #b00;padding:8px 12px;margin:12px 0;background:repeating-linear-"
	"gradient(45deg,#fff3f3,#fff3f3 10px,#ffe0e0 10px,#ffe0e0 20px)}"
	".alert strong.big{font-size:1.15em}.alert .icon{font-size:1.6em;vertical-align:middle}"
	".ok{border:2px solid #2a7a2a;padding:6px 12px;background:#f0fff0}"
	".notes{color:#444}"
	".group{border-left:4px solid #999;padding:2px 10px;margin:10px 0}"
	".group.possible{border-left-style:dashed}"
	"details summary{cursor:pointer}"
	"#diff-table td:first-child{white-space:nowrap}#diff-table code{word-break:break-all}"
	"tr.regress{background:#ffe3e3;font-weight:bold}tr.regress td:first-child{border-left:5px "
	"solid #b00}tr.better td:first-child{border-left:5px dotted #2a7a2a}"
	"ol.legend{list-style:none;padding:0}ol.legend li{margin:2px 0}"
	"svg.icicle text{font:11px ui-monospace,monospace;pointer-events:none}"
	"svg.icicle g.fr{cursor:pointer}svg.icicle g.fr:focus rect{stroke:#000;stroke-width:2}"
	"svg.icicle rect{stroke:#fff;stroke-width:.5}"
	".note,.none{color:#555;font-size:.92em}"
	"nav a{margin-right:12px}"
	"#js-errors{color:#b00;font-weight:bold}";

/* Zooms the icicles on click (or Enter), and on load when the address ends
 * in #zoom=SVGID:N (the N-th frame; the browser tests use it).  Reports
 * its own errors into the page, and marks <body data-script="ok"> when it
 * ran to the end. */
static const char page_js[] =
	"(function(){'use strict';\n"
	"var errs=document.getElementById('js-errors');\n"
	"window.addEventListener('error',function(e){errs.hidden=false;"
	"errs.textContent+='script error: '+e.message+'\\n';"
	"document.body.setAttribute('data-script','error');});\n"
	"var CH=6.6,W=960;\n"
	"function cut(s,px){var n=Math.floor((px-6)/CH);if(n<3)return '';"
	"return s.length>n?s.slice(0,n-1)+'\\u2026':s;}\n"
	"function nameOf(e){var t=e.querySelector('title').textContent,"
	"i=t.lastIndexOf(' \\u2014 ');return i<0?t:t.slice(0,i);}\n"
	"function zoomTo(svg,X,Wz,D,label){\n"
	"svg.querySelectorAll('g.fr').forEach(function(e){\n"
	"var x=+e.getAttribute('data-x'),w=+e.getAttribute('data-w'),d=+e.getAttribute('data-d'),"
	"nx,nw,eps=1e-9;\n"
	"if(d<D&&x<=X+eps&&x+w>=X+Wz-eps){nx=0;nw=1;}\n"
	"else if(d>=D&&x>=X-eps&&x+w<=X+Wz+eps){nx=(x-X)/Wz;nw=w/Wz;}\n"
	"else{e.style.display='none';return;}\n"
	"e.style.display='';var r=e.querySelector('rect'),t=e.querySelector('text');\n"
	"r.setAttribute('x',(nx*W).toFixed(1));r.setAttribute('width',Math.max(0,nw*W-1).toFixed(1));\n"
	"t.setAttribute('x',(nx*W+3).toFixed(1));t.textContent=cut(nameOf(e),nw*W);});\n"
	"if(label)svg.setAttribute('data-zoom',label);else svg.removeAttribute('data-zoom');}\n"
	"function zoom(svg,g){zoomTo(svg,+g.getAttribute('data-x'),+g.getAttribute('data-w'),"
	"+g.getAttribute('data-d'),nameOf(g));}\n"
	"document.querySelectorAll('svg.icicle').forEach(function(svg){\n"
	"svg.addEventListener('click',function(ev){var g=ev.target.closest('g.fr');if(g)zoom(svg,g);});\n"
	"svg.addEventListener('keydown',function(ev){if(ev.key!=='Enter'&&ev.key!==' ')return;"
	"var g=ev.target.closest('g.fr');if(g){ev.preventDefault();zoom(svg,g);}});});\n"
	"document.querySelectorAll('button.unzoom').forEach(function(b){b.addEventListener('click',"
	"function(){zoomTo(document.getElementById(b.getAttribute('data-for')),0,1,0,null);});});\n"
	"var m=/^#zoom=([\\w-]+):(\\d+)$/.exec(location.hash);\n"
	"if(m){var s=document.getElementById(m[1]),g=s&&s.querySelectorAll('g.fr')[+m[2]];"
	"if(g)zoom(s,g);}\n"
	"document.body.setAttribute('data-script','ok');\n"
	"})();\n";

/* ---- the header: host, window, completeness ---- */

/* Wall-clock time (UTC) of monotonic ts from META clock.*: 0, or -1 when
 * the file has no clock pair. */
static int wall_clock(const struct model *m, uint64_t ts, char *buf, size_t cap)
{
	int64_t off, ns;
	if (wall_offset(model_meta(m, "clock.monotonic_ns"), model_meta(m, "clock.realtime_ns"), &off) ||
	    wall_ns(off, ts, &ns))
		return -1;
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	char t[40];
	if (ns < 0 || !gmtime_r(&sec, &tm) || !strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S", &tm))
		return -1;
	snprintf(buf, cap, "%s.%03d UTC", t, (int)(ns / 1000000 % 1000));
	return 0;
}

static void meta_row(FILE *f, const char *th, const char *v)
{
	fprintf(f, "<tr><th scope=\"row\">%s</th><td>", th);
	html_text(f, v ? v : "?");
	fputs("</td></tr>\n", f);
}

/* What a text writer of another report prints, captured: *n bytes, NUL-
 * terminated, to free(); NULL on ENOMEM. */
struct capture {
	const struct model *m;
	const char *path;
	struct sites *ss;
	int which;
};
static char *capture(void (*fn)(FILE *, const struct capture *), const struct capture *a,
		     size_t *n)
{
	char *buf = NULL;
	FILE *ms = open_memstream(&buf, n);
	if (!ms)
		return NULL;
	fn(ms, a);
	if (fclose(ms)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void warnings_of(FILE *f, const struct capture *a)
{
	cli_warnings_to(f, a->m, a->path);
}

static void folded_of(FILE *f, const struct capture *a)
{
	sites_folded(f, a->ss, a->which);
}

/* The warnings every report prints (cli_warnings), made impossible to miss:
 * an icon, a sentence, a thick striped frame; the notes stay quiet. */
static int status_block(FILE *f, const struct model *m, const char *path, const char *idp)
{
	size_t n = 0;
	char *buf = capture(warnings_of, &(struct capture){ .m = m, .path = path }, &n);
	if (!buf)
		return -1;
	static const char wpre[] = "sockreport: WARNING: ", npre[] = "sockreport: note: ";
	int nw = 0, nn = 0;
	for (int pass = 0; pass < 2; pass++) {
		const char *pre = pass ? npre : wpre;
		int *cnt = pass ? &nn : &nw;
		for (char *p = buf; p && *p;) {
			char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			if (len > strlen(pre) && !strncmp(p, pre, strlen(pre))) {
				if (!(*cnt)++) {
					if (pass)
						fputs("<ul class=\"notes\">", f);
					else
						fprintf(f, "<div class=\"alert\" role=\"alert\" id=\"%swarning\">"
							   "<span class=\"icon\" aria-hidden=\"true\">\xe2\x9a\xa0</span> "
							   "<strong class=\"big\">WARNING: this recording is damaged, "
							   "incomplete or lost events; the numbers below can miss "
							   "sockets.</strong><ul>",
							idp);
				}
				fputs("<li>", f);
				if (pass)
					fputs("note: ", f);
				/* already escaped by out_text where it quoted the file */
				html_textn(f, p + strlen(pre), len - strlen(pre));
				fputs("</li>", f);
			}
			p = nl ? nl + 1 : NULL;
		}
		if (*cnt)
			fputs(pass ? "</ul>\n" : "</ul></div>\n", f);
	}
	if (!nw)
		fprintf(f, "<p class=\"ok\" id=\"%sstatus-ok\"><span aria-hidden=\"true\">\xe2\x9c\x94"
			   "</span> Complete: the recorder finished cleanly, no events were lost and "
			   "every block was read.</p>\n",
			idp);
	free(buf);
	return 0;
}

static int header(FILE *f, const struct model *m, const char *path, const char *label,
		  const char *idp)
{
	uint64_t end = cli_end(m);
	char a[64], b[64], d[32], line[256];
	fprintf(f, "<section class=\"file\" id=\"%sfile\"><h2>%s<code>", idp, label);
	html_text(f, path);
	fputs("</code></h2>\n<table class=\"meta\">", f);
	meta_row(f, "Host", model_meta(m, "host.name"));
	meta_row(f, "Kernel", model_meta(m, "host.kernel"));
	meta_row(f, "Architecture", model_meta(m, "host.arch"));
	fputs("<tr><th scope=\"row\">Backend</th><td>", f);
	int nb = 0;
	for (size_t i = 0; i < m->nmeta; i++) {
		if (strncmp(m->meta_keys[i], "backend", 7))
			continue;
		fputs(nb++ ? "<br>" : "", f);
		html_text(f, m->meta_keys[i]);
		fputs(" = ", f);
		html_text(f, m->meta_vals[i]);
	}
	fputs(nb ? "</td></tr>\n" : "?</td></tr>\n", f);
	cli_dur(d, sizeof(d), end > m->start_ns ? end - m->start_ns : 0);
	if (!wall_clock(m, m->start_ns, a, sizeof(a)) && !wall_clock(m, end, b, sizeof(b)))
		snprintf(line, sizeof(line), "%s \xe2\x86\x92 %s (%s)", a, b, d);
	else
		snprintf(line, sizeof(line), "%s (the file has no wall-clock reference)", d);
	meta_row(f, "Window", line);
	meta_row(f, "Stopped by", model_meta(m, "recording.stop_reason"));
	snprintf(line, sizeof(line), "%" PRIu64 " events, %" PRIu64 " sockets", m->events,
		 m->sockets_seen);
	meta_row(f, "Recorded", line);
	snprintf(line, sizeof(line), "%" PRIu64 " events lost, %" PRIu64 " stacks not captured%s",
		 m->lost_events, m->lost_stacks, m->complete ? "" : "; recording INCOMPLETE");
	meta_row(f, "Losses", line);
	if (m->status.salvaged)
		snprintf(line, sizeof(line), "DAMAGED: %" PRIu64 " blocks read, %" PRIu64 " bad",
			 m->status.blocks_ok, m->status.blocks_bad);
	else
		snprintf(line, sizeof(line), "intact, index %s", cli_index_state(m->status.index));
	meta_row(f, "File", line);
	fputs("</table>\n", f);
	int rc = status_block(f, m, path, idp);
	fputs("</section>\n", f);
	return rc;
}

/* ---- open sockets over time ---- */

struct curve {
	double x[SERIES_N + 1], y[SERIES_N + 1];
	size_t n;
	char label[400];
};

/* Running sum of s as points (bucket ends, clamped to the end). */
static void curve_of(struct curve *cv, struct series *s, const struct series_clock *k,
		     uint64_t end)
{
	series_sync(s, k); /* the clock covers end: see series_cover() */
	unsigned used = series_used(k, end);
	double dur = end > k->start_ns ? (double)(end - k->start_ns) / 1e9 : 0, w =
		(double)series_width(k) / 1e9;
	int64_t sum = 0;
	cv->x[0] = cv->y[0] = 0;
	cv->n = 1;
	for (unsigned i = 0; i < used; i++) {
		sum += s->d[i];
		double x = (double)(i + 1) * w;
		cv->x[cv->n] = x < dur ? x : dur;
		cv->y[cv->n++] = (double)sum;
	}
}

/* qsort_r over indices into the agg `arg` */
static int by_allocs_desc(const void *a, const void *b, void *arg)
{
	const struct agg *rank_agg = arg;
	const struct site *x = rank_agg->vals[*(const size_t *)a];
	const struct site *y = rank_agg->vals[*(const size_t *)b];
	return x->allocs > y->allocs ? -1 : x->allocs < y->allocs;
}

/* The sites drawn: growing ones first (leaks' order), then the busiest. */
static size_t top_sites(struct leaks *L, size_t *out, size_t max)
{
	struct agg *a = &L->sites.by_key;
	size_t n = 0;
	for (size_t i = 0; i < L->ngrowth && n < max; i++)
		out[n++] = L->growth[i];
	size_t *all = malloc((a->n + 1) * sizeof(*all)), na = 0;
	if (!all)
		return n;
	for (size_t i = 0; i < a->n; i++) {
		const struct site *x = a->vals[i];
		if (x->allocs && x->allocs <= x->releases)
			all[na++] = i;
	}
	qsort_r(all, na, sizeof(*all), by_allocs_desc, a);
	for (size_t i = 0; i < na && n < max; i++)
		out[n++] = all[i];
	free(all);
	return n;
}

static int open_chart(FILE *f, struct leaks *L, struct series_clock *k, const struct model *m,
		      struct stacks *st)
{
	size_t idx[TOP_LINES];
	size_t ns = top_sites(L, idx, TOP_LINES);
	struct curve *cv = calloc(ns + 1, sizeof(*cv));
	struct series *total = calloc(1, sizeof(*total));
	struct svg_line lines[TOP_LINES + 1];
	struct svg_mark marks[TOP_MARKS];
	char mlabel[TOP_MARKS][32], mtitle[TOP_MARKS][160];
	size_t nm = 0;
	if (!cv || !total) {
		free(cv);
		free(total);
		return -1;
	}
	series_cover(k, L->end);
	for (size_t i = 0; i < L->sites.by_key.n; i++) {
		struct site *x = L->sites.by_key.vals[i];
		if (x->ts)
			series_merge(total, x->ts, k);
	}
	curve_of(&cv[0], total, k, L->end);
	snprintf(cv[0].label, sizeof(cv[0].label), "all allocation sites (sockets allocated during "
		 "the recording)");
	for (size_t i = 0; i < ns; i++) {
		struct site *x = L->sites.by_key.vals[idx[i]];
		char lab[300], kind[48];
		diff_site_label(lab, sizeof(lab), st, x->ustack, x->origin);
		site_kind(kind, sizeof(kind), x);
		if (x->ts)
			curve_of(&cv[i + 1], x->ts, k, L->end);
		snprintf(cv[i + 1].label, sizeof(cv[i + 1].label),
			 "%s [%s]: %" PRIu64 " allocated, %" PRIu64 " released, %" PRId64 " open at the end",
			 lab, kind, x->allocs, x->releases, (int64_t)x->allocs - (int64_t)x->releases);
	}
	for (size_t i = 0; i <= ns; i++)
		lines[i] = (struct svg_line){ cv[i].label, cv[i].x, cv[i].y, cv[i].n };
	/* CLOSE_WAIT strandings: where each stranded socket entered the state,
	 * counted per bucket; the TOP_MARKS fullest buckets are drawn */
	uint64_t w = series_width(k);
	struct cwbucket {
		uint64_t b, n;
	} cb[TOP_MARKS];
	size_t ncb = 0, dropped = 0;
	for (size_t i = 0; i < L->ncw; i++) {
		uint64_t at = L->end - L->cw[i].dwell, off = at > k->start_ns ? at - k->start_ns : 0;
		uint64_t b = off / w;
		size_t j = 0;
		while (j < ncb && cb[j].b != b)
			j++;
		if (j == ncb) {
			if (ncb == TOP_MARKS) {
				dropped++;
				continue;
			}
			cb[ncb++] = (struct cwbucket){ b, 0 };
		}
		cb[j].n++;
	}
	for (size_t j = 0; j < ncb; j++) {
		snprintf(mlabel[nm], sizeof(mlabel[nm]), "CW %" PRIu64, cb[j].n);
		snprintf(mtitle[nm], sizeof(mtitle[nm]),
			 "%" PRIu64 " socket%s entered CLOSE_WAIT here (+%.1fs) and stayed there to the end",
			 cb[j].n, cb[j].n == 1 ? "" : "s", (double)(cb[j].b * w) / 1e9);
		double at = ((double)(cb[j].b * w) + (double)w / 2) / 1e9; /* mid-bucket */
		marks[nm] = (struct svg_mark){ at, mlabel[nm], mtitle[nm] };
		if (marks[nm].x > cv[0].x[cv[0].n - 1])
			marks[nm].x = cv[0].x[cv[0].n - 1];
		nm++;
	}
	fputs("<section id=\"open\"><h2>Open sockets over time</h2>\n<p>Sockets allocated during the "
	      "recording and not yet released, per allocation site (the sites that grew first, then "
	      "the busiest) and in total.  A leak is a line that keeps climbing.",
	      f);
	if (nm)
		fputs("  Red dashed markers (\xe2\x96\xbc CW n) show where n sockets entered CLOSE_WAIT "
		      "and stayed there: the peer closed, the owner never did.", f);
	fprintf(f, "  Each point is a bucket of %.3g s; sockets opened before the recording are not "
		   "counted.</p>\n", (double)w / 1e9);
	svg_line_chart(f, "chart-open", "Open sockets over time, per allocation site and in total",
		       "open sockets", lines, ns + 1, marks, nm);
	if (dropped)
		fprintf(f, "<p class=\"note\">%zu CLOSE_WAIT strandings in other buckets are not "
			   "marked (see the CLOSE_WAIT table).</p>\n", dropped);
	fputs("</section>\n", f);
	(void)m;
	free(cv);
	free(total);
	return 0;
}

/* ---- leak groups ---- */

static void stack_pre(FILE *f, struct stacks *st, uint64_t ref, const char *label)
{
	size_t n = 0;
	const char *const *l = stacks_lines(st, ref, &n);
	if (!n || !l)
		return;
	fprintf(f, "%s:\n", label);
	for (size_t i = 0; i < n; i++) {
		fputs("  ", f);
		html_text(f, l[i]);
		fputc('\n', f);
	}
}

/* The innermost user frames, as diff names sites. */
static void top_frame(FILE *f, struct stacks *st, const struct group *g)
{
	char k[600];
	diff_site_label(k, sizeof(k), st, g->ustack, g->origin);
	fputs("<code class=\"fn\">", f);
	html_text(f, k);
	fputs("</code>", f);
}

static void groups_html(FILE *f, const struct model *m, struct stacks *st, const struct groups *gs,
			const char *id, const char *title, const char *agelabel)
{
	uint64_t total = 0;
	for (size_t i = 0; i < gs->n; i++)
		total += gs->g[i].count;
	fprintf(f, "<section id=\"%s\" data-total=\"%" PRIu64 "\"><h3>%s: %" PRIu64 " socket%s in %zu "
		   "allocation site%s</h3>\n",
		id, total, title, total, total == 1 ? "" : "s", gs->n, gs->n == 1 ? "" : "s");
	for (size_t i = 0; i < gs->n && i < TOP_GROUPS; i++) {
		const struct group *g = &gs->g[i];
		char a0[32], a50[32], a100[32];
		cli_dur(a0, sizeof(a0), group_age_pct(g, 0));
		cli_dur(a50, sizeof(a50), group_age_pct(g, 50));
		cli_dur(a100, sizeof(a100), group_age_pct(g, 100));
		fprintf(f, "<article class=\"group%s\" data-count=\"%" PRIu64 "\"><h4>[%zu] "
			   "<span class=\"count\">%" PRIu64 "</span> socket%s at ",
			g->possible ? " possible" : "", g->count, i + 1, g->count, g->count == 1 ? "" : "s");
		top_frame(f, st, g);
		fputs("</h4>\n<p>", f);
		if (g->possible)
			fputs("<strong>\xe2\x9a\xa0 possible:</strong> events were lost while these sockets "
			      "lived. ", f);
		for (int k = 0; k < g->nkinds; k++) {
			const struct gkind *gk = &g->kinds[k];
			char kind[64];
			cli_kind(kind, sizeof(kind), gk->family, gk->type, gk->protocol);
			fprintf(f, "%s%s \xc3\x97%" PRIu64, k ? ", " : "", kind, gk->count);
		}
		fputs("; pids", f);
		for (int p = 0; p < g->npids; p++) {
			fprintf(f, " %u (", g->pids[p]);
			html_text(f, model_str(m, g->comms[p]));
			fputs(")", f);
		}
		fprintf(f, "%s; %s min %s, median %s, max %s; created by %s().</p>\n",
			g->more_pids ? " \xe2\x80\xa6" : "", agelabel, a0, a50, a100,
			origin_name(g->origin));
		fputs("<details><summary>Stacks</summary><pre>", f);
		stack_pre(f, st, g->ustack, "user stack");
		stack_pre(f, st, g->kstack, "kernel stack");
		fputs("</pre></details></article>\n", f);
	}
	if (gs->n > TOP_GROUPS)
		fprintf(f, "<p class=\"note\">%zu more sites (sockreport leaks lists them all).</p>\n",
			gs->n - TOP_GROUPS);
	if (!gs->n)
		fputs("<p class=\"none\">(none)</p>\n", f);
	fputs("</section>\n", f);
}

static void closewait_html(FILE *f, const struct model *m, struct stacks *st, const struct leaks *L)
{
	if (!L->ncw)
		return;
	fprintf(f, "<section id=\"cw-sockets\"><h3>CLOSE_WAIT sockets (peer closed, owner did not), "
		   "longest first: %zu</h3>\n<table><thead><tr><th>owner</th><th class=\"n\">fd</th>"
		   "<th class=\"n\">in CLOSE_WAIT</th><th>local</th><th>peer</th><th>stack</th></tr>"
		   "</thead><tbody>\n",
		L->ncw);
	for (size_t i = 0; i < L->ncw && i < TOP_GROUPS; i++) {
		const struct cwsock *w = &L->cw[i];
		char d[32], la[64], ra[64];
		uint32_t af = w->s.addr_family ? w->s.addr_family : w->s.family;
		cli_dur(d, sizeof(d), w->dwell);
		cli_addr(la, sizeof(la), af, w->s.laddr, w->s.lport);
		cli_addr(ra, sizeof(ra), af, w->s.raddr, w->s.rport);
		fprintf(f, "<tr><td>%u (", w->s.pid);
		html_text(f, model_str(m, w->s.comm));
		fprintf(f, ")</td><td class=\"n\">%d</td><td class=\"n\">%s%s</td><td>", w->s.fd, d,
			w->possible ? " (possible)" : "");
		html_text(f, la);
		fputs("</td><td>", f);
		html_text(f, ra);
		fprintf(f, "</td><td><details><summary>%s stack</summary><pre>",
			w->stack == w->s.connect_stack ? "connect" : w->s.accept_ts ? "accept" : "allocation");
		stack_pre(f, st, w->stack, "user stack");
		fputs("</pre></details></td></tr>\n", f);
	}
	fputs("</tbody></table>", f);
	if (L->ncw > TOP_GROUPS)
		fprintf(f, "<p class=\"note\">%zu more (sockreport leaks lists them all).</p>",
			L->ncw - TOP_GROUPS);
	fputs("</section>\n", f);
}

static void growth_html(FILE *f, const struct model *m, struct stacks *st, const struct leaks *L)
{
	uint64_t dur = L->end > m->start_ns ? L->end - m->start_ns : 0;
	double mins = dur ? (double)dur / 6e10 : 1.0 / 60;
	fprintf(f, "<section id=\"growth\"><h3>Growth per allocation site (allocated \xe2\x88\x92 "
		   "released, per minute of %.2f min)</h3>\n", mins);
	if (!L->ngrowth) {
		fputs("<p class=\"none\">(none: every site released what it allocated)</p></section>\n", f);
		return;
	}
	fputs("<table><thead><tr><th class=\"n\">per min</th><th class=\"n\">allocated</th>"
	      "<th class=\"n\">released</th><th>site</th></tr></thead><tbody>\n", f);
	for (size_t i = 0; i < L->ngrowth && i < TOP_GROUPS; i++) {
		const struct site *x = L->sites.by_key.vals[L->growth[i]];
		char lab[300], kind[48];
		diff_site_label(lab, sizeof(lab), st, x->ustack, x->origin);
		site_kind(kind, sizeof(kind), x);
		fprintf(f, "<tr><td class=\"n\">%+.1f</td><td class=\"n\">%" PRIu64 "</td>"
			   "<td class=\"n\">%" PRIu64 "</td><td><code>",
			((double)x->allocs - (double)x->releases) / mins, x->allocs, x->releases);
		html_text(f, lab);
		fprintf(f, "</code> %s%s</td></tr>\n", kind, x->possible ? " (possible)" : "");
	}
	fputs("</tbody></table>", f);
	if (L->ngrowth > TOP_GROUPS)
		fprintf(f, "<p class=\"note\">%zu more sites (sockreport leaks lists them all).</p>",
			L->ngrowth - TOP_GROUPS);
	fputs("</section>\n", f);
}

/* ---- flame graphs ---- */

static int flame(FILE *f, struct sites *ss, int which, const char *id, const char *title,
		 const char *desc)
{
	size_t n = 0;
	char *buf = capture(folded_of, &(struct capture){ .ss = ss, .which = which }, &n);
	if (!buf)
		return -1;
	fprintf(f, "<section id=\"%s-sec\"><h2>%s</h2>\n<p>Root on top: the site's origin, then its "
		   "user stack from main() down, then the kernel stack; the width is the number of "
		   "sockets.  Click a frame (or focus it and press Enter) to zoom; every frame is "
		   "named in it and in its tooltip.</p>\n", id, title);
	int rc = icicle_svg(f, id, desc, buf, n, "sockets");
	fputs("</section>\n", f);
	free(buf);
	return rc;
}

/* ---- latency ---- */

/* p50, p90, p99 and max of v, readable. */
static void pcts(const struct vals *v, char p[4][32])
{
	static const double at[4] = { 50, 90, 99, 100 };
	for (int i = 0; i < 4; i++)
		cli_dur(p[i], 32, vals_pct(v, at[i]));
}

static void pct_text(FILE *f, const struct vals *v)
{
	char p[4][32];
	pcts(v, p);
	fprintf(f, "count <b>%zu</b> \xc2\xb7 p50 <b>%s</b> \xc2\xb7 p90 <b>%s</b> \xc2\xb7 p99 "
		   "<b>%s</b> \xc2\xb7 max <b>%s</b>", v->n, p[0], p[1], p[2], p[3]);
}

/* The log2 slot (in us, as vals_log2) of value ns. */
static int slot_of(uint64_t ns)
{
	uint64_t us = ns / 1000;
	int k = 0;
	while (us) {
		k++;
		us >>= 1;
	}
	return k;
}

static void latency_html(FILE *f, const struct vals *lat)
{
	fputs("<section id=\"latency\"><h2>Latency</h2>\n<p>log2 histograms (bars are labelled "
	      "with their lower bound; the bars holding p50, p90 and p99 are hatched and named "
	      "below).</p>\n", f);
	int any = 0;
	for (int k = 0; k < LAT_STATE0; k++) {
		const struct vals *v = &lat[k];
		if (!v->n)
			continue;
		any = 1;
		uint64_t slots[65];
		vals_log2(v, 1000, slots);
		int lo = 65, hi = -1;
		for (int s = 0; s < 65; s++)
			if (slots[s]) {
				lo = s < lo ? s : lo;
				hi = s;
			}
		struct svg_bar bars[65];
		size_t nb = 0;
		int p50 = slot_of(vals_pct(v, 50)), p90 = slot_of(vals_pct(v, 90)),
		    p99 = slot_of(vals_pct(v, 99));
		for (int s = lo; s <= hi; s++) {
			struct svg_bar *b = &bars[nb++];
			memset(b, 0, sizeof(*b));
			if (!s)
				snprintf(b->label, sizeof(b->label), "<1us");
			else
				cli_dur(b->label, sizeof(b->label), (1000ull << (s - 1)));
			b->count = slots[s];
			b->mark = (s == p50 ? 1 : 0) | (s == p90 ? 2 : 0) | (s == p99 ? 4 : 0);
		}
		char id[32];
		snprintf(id, sizeof(id), "hist-%s", lat_metric_json[k]);
		fprintf(f, "<h3>%s</h3>\n<p>", lat_metric_text[k]);
		pct_text(f, v);
		fputs("</p>\n", f);
		svg_bars(f, id, lat_metric_text[k], bars, nb);
	}
	fputs("<h3>Time per TCP state</h3>\n", f);
	int nst = 0;
	for (int k = LAT_STATE0; k < LAT__N; k++) {
		const struct vals *v = &lat[k];
		if (!v->n)
			continue;
		if (!nst++)
			fputs("<table id=\"tcp-states\"><thead><tr><th>state</th><th class=\"n\">count</th>"
			      "<th class=\"n\">p50</th><th class=\"n\">p90</th><th class=\"n\">p99</th>"
			      "<th class=\"n\">max</th></tr></thead><tbody>\n", f);
		char p[4][32];
		pcts(v, p);
		fprintf(f, "<tr><td>%s</td><td class=\"n\">%zu</td><td class=\"n\">%s</td>"
			   "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
			tcp_state_name((uint32_t)(k - LAT_STATE0)), v->n, p[0], p[1], p[2], p[3]);
	}
	fputs(nst ? "</tbody></table>\n" : "<p class=\"none\">(no TCP state transitions)</p>\n", f);
	if (!any)
		fputs("<p class=\"none\">(no connects, accepts or released sockets)</p>\n", f);
	fputs("</section>\n", f);
}

/* ---- the page ---- */

static void page_head(FILE *f, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"sockreport html\">\n"
	      /* nothing may be fetched: the page is attached to tickets */
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n<title>",
	      f);
	html_text(f, title);
	fprintf(f, "</title>\n<style>%s%s</style></head>\n<body data-script=\"pending\">\n"
		   "<pre id=\"js-errors\" hidden></pre>\n",
		page_css, svg_css);
	svg_defs(f);
}

static void page_tail(FILE *f, const char *what)
{
	fprintf(f, "<footer><p class=\"note\">Made by <code>sockreport html</code> from %s: aggregates "
		   "only, no event is embedded.  Charts are inline SVG; the script only zooms the flame "
		   "graphs.  Nothing is fetched.</p></footer>\n<script>%s</script>\n</body></html>\n",
		what, page_js);
}

struct page {
	struct leaks L;
	struct vals lat[LAT__N];
	struct series_clock clock;
	int err;
};

static void on_done(struct model *m, const struct msock *s, void *arg)
{
	struct page *P = arg;
	leaks_on_done(m, s, &P->L);
	if (latency_account(P->lat, s))
		P->err = 1;
}

static int page_one(struct cli *c, FILE *f)
{
	struct page *P = calloc(1, sizeof(*P));
	struct model m;
	const char *path = c->files[0];
	if (!P) {
		fprintf(stderr, "sockreport: out of memory\n");
		return 1;
	}
	leaks_init(&P->L, c);
	P->L.sites.no_life = 1;
	P->L.sites.clock = &P->clock;
	int rc = cli_load(c, path, &m, on_done, P);
	if (rc) {
		leaks_free(&P->L);
		free(P);
		return rc;
	}
	leaks_finish(&P->L, &m);
	struct sym_ctx *sym = cli_symbolizer(c);
	struct stacks *st = sym ? stacks_new(&m, sym) : NULL;
	if (!st || P->err || leaks_collapse(&P->L, st)) {
		fprintf(stderr, "sockreport: out of memory\n");
		rc = 1;
		goto out;
	}
	cli_warnings(c, &m, path);
	{
		char *title = NULL;
		if (asprintf(&title, "sockreport: %s", path) < 0) {
			rc = 1;
			goto oom;
		}
		page_head(f, title);
		free(title);
	}
	fputs("<h1>Socket lifecycles: <code>", f);
	html_text(f, path);
	fputs("</code></h1>\n<nav><a href=\"#open\">open over time</a><a href=\"#leaks\">leaks</a>"
	      "<a href=\"#flame-allocs-sec\">allocation flame graph</a>"
	      "<a href=\"#flame-leaks-sec\">leak flame graph</a><a href=\"#latency\">latency</a></nav>\n",
	      f);
	if (header(f, &m, path, "Recording ", "") ||
	    open_chart(f, &P->L, &P->clock, &m, st)) {
		rc = 1;
		goto oom;
	}
	char older[32];
	cli_dur(older, sizeof(older), c->older_ns);
	fprintf(f, "<section id=\"leaks\"><h2>Leaks</h2>\n<p>As <code>sockreport leaks</code>: "
		   "allocation sites of sockets still open at the end and older than %s, of sockets "
		   "released only by their process's exit, and of TCP sockets stranded in CLOSE_WAIT.  "
		   "Open <i>Stacks</i> for the symbolized stacks.</p>\n", older);
	if (P->L.young)
		fprintf(f, "<p class=\"note\">%" PRIu64 " sockets younger than %s are not counted "
			   "(--older).</p>\n", P->L.young, older);
	if (P->L.preexisting_open)
		fprintf(f, "<p class=\"note\">%" PRIu64 " sockets opened before the recording began "
			   "are still open: not counted as leaks, their birth was not seen "
			   "(<code>sockreport ss</code> lists them).</p>\n", P->L.preexisting_open);
	groups_html(f, &m, st, &P->L.outstanding, "leaks-outstanding", "Still open at the end", "age");
	uint64_t free_skips;
	cli_hook_skips_that_matter(&m, &free_skips);
	if (free_skips && P->L.outstanding.n)
		fprintf(f, "<p class=\"note\">The kernel skipped %" PRIu64 " runs of the slab-free "
			   "hook: a socket released other than by close(), dup2() or exit may be listed "
			   "above.</p>\n", free_skips);
	groups_html(f, &m, st, &P->L.exited, "leaks-exit", "Released only by process exit", "lifetime");
	groups_html(f, &m, st, &P->L.closewait, "leaks-closewait", "Stranded in CLOSE_WAIT",
		    "in CLOSE_WAIT");
	if (P->L.cw_young)
		fprintf(f, "<p class=\"note\">%" PRIu64 " in CLOSE_WAIT for less than %s are not "
			   "counted (--older).</p>\n", P->L.cw_young, older);
	closewait_html(f, &m, st, &P->L);
	char ended[96];
	snprintf(ended, sizeof(ended), "CLOSE_WAIT for %s or longer, then closed", older);
	groups_html(f, &m, st, &P->L.cwended, "leaks-closewait-ended", ended, "in CLOSE_WAIT");
	growth_html(f, &m, st, &P->L);
	fputs("</section>\n", f);
	if (flame(f, &P->L.sites, 0, "flame-allocs", "Allocation sites (flame graph)",
		  "Icicle graph of every allocation site, by sockets allocated") ||
	    flame(f, &P->L.sites, 1, "flame-leaks", "Leaked sockets (flame graph)",
		  "Icicle graph of the allocation sites of sockets still open at the end")) {
		rc = 1;
		goto oom;
	}
	latency_html(f, P->lat);
	page_tail(f, "one recording");
	goto out;
oom:
	fprintf(stderr, "sockreport: out of memory\n");
out:
	for (int k = 0; k < LAT__N; k++)
		vals_free(&P->lat[k]);
	leaks_free(&P->L);
	stacks_free(st);
	sym_ctx_free(sym);
	model_free(&m);
	free(P);
	return rc;
}

/* ---- two recordings ---- */

static void total_curve(struct curve *cv, struct side *S, struct series_clock *k)
{
	series_cover(k, S->end);
	struct series total;
	memset(&total, 0, sizeof(total));
	for (size_t i = 0; i < S->ss.by_key.n; i++) {
		struct site *x = S->ss.by_key.vals[i];
		if (x->ts)
			series_merge(&total, x->ts, k);
	}
	curve_of(cv, &total, k, S->end);
}

static void diff_table(FILE *f, const struct rows *R, struct side *B, struct side *N)
{
	fputs("<section id=\"diff\"><h2>Differences, most significant first</h2>\n<p>As "
	      "<code>sockreport diff</code>: sites are matched by their symbolized stacks, rates are "
	      "per minute of recording.  Rows that got worse are marked <b>\xe2\x96\xb2 worse</b> (red, "
	      "framed); rows that got better <b>\xe2\x96\xbc better</b>.</p>\n"
	      "<table id=\"diff-table\"><thead><tr><th>change</th><th class=\"n\">score</th>"
	      "<th>what</th><th class=\"n\">base</th><th class=\"n\">new</th><th>unit</th></tr>"
	      "</thead><tbody>\n", f);
	for (size_t i = 0; i < R->n && i < TOP_DIFF; i++) {
		const struct row *r = &R->r[i];
		/* "not comparable": a side has no value (diff says which) */
		int nc = !strcmp(r->status, "not comparable");
		int changed = !nc && strcmp(r->status, "same") != 0;
		int worse = changed && r->new > r->base, better = changed && r->new < r->base;
		const char *mark = worse ? "\xe2\x96\xb2 worse" : better ? "\xe2\x96\xbc better" :
				   nc ? "not comparable" : changed ? "changed" : "same";
		const char *site = !r->is_site ? "" : !r->bs ? ", new site" : !r->ns ? ", vanished site" : "";
		fprintf(f, "<tr class=\"%s\" data-status=\"%s\"><td>%s%s</td><td class=\"n\">%.2f</td>"
			   "<td>",
			worse ? "regress" : better ? "better" : "same", r->status, mark, site, r->score);
		const struct site *x = r->ns ? r->ns : r->bs; /* a site row has one or both */
		if (r->is_site && x) {
			char label[1000];
			diff_site_label(label, sizeof(label), (r->ns ? N : B)->st, x->ustack, x->origin);
			fputs("allocation site <code>", f);
			html_text(f, label);
			fprintf(f, "</code> (leaks %" PRIu64 " \xe2\x86\x92 %" PRIu64 ", allocs %" PRIu64
				   " \xe2\x86\x92 %" PRIu64 ")<details><summary>matched by</summary><code>",
				r->bs ? r->bs->leaks : 0, r->ns ? r->ns->leaks : 0, r->bs ? r->bs->allocs : 0,
				r->ns ? r->ns->allocs : 0);
			html_text(f, x->key);
			fputs("</code></details>", f);
		} else {
			html_text(f, r->name);
		}
		fprintf(f, "</td><td class=\"n\">%.4g</td><td class=\"n\">%.4g</td><td>%s</td></tr>\n",
			r->base, r->new, r->unit);
	}
	fputs("</tbody></table>\n", f);
	if (R->n > TOP_DIFF)
		fprintf(f, "<p class=\"note\">%zu more rows (sockreport diff --top lists them).</p>\n",
			R->n - TOP_DIFF);
	fputs("</section>\n", f);
}

static int page_diff(struct cli *c, FILE *f)
{
	struct side *B = calloc(1, sizeof(*B)), *N = calloc(1, sizeof(*N));
	struct series_clock kb = { 0 }, kn = { 0 };
	struct rows R = { 0 };
	struct curve *cv = calloc(2, sizeof(*cv));
	int rc = 1;
	uint64_t new_sites = 0;
	if (!B || !N || !cv) {
		fprintf(stderr, "sockreport: out of memory\n");
		goto out;
	}
	rc = diff_load_side(c, c->files[0], B, &kb);
	if (!rc)
		rc = diff_load_side(c, c->files[1], N, &kn);
	if (rc)
		goto out;
	rc = 1;
	if (diff_rows(B, N, &R, &new_sites)) {
		fprintf(stderr, "sockreport: out of memory\n");
		goto out;
	}
	page_head(f, "sockreport: diff");
	fputs("<h1>Socket lifecycles: BASE against NEW</h1>\n<nav><a href=\"#open\">open over time</a>"
	      "<a href=\"#diff\">differences</a></nav>\n", f);
	if (header(f, &B->m, B->path, "BASE ", "base-") || header(f, &N->m, N->path, "NEW ", "new-")) {
		fprintf(stderr, "sockreport: out of memory\n");
		goto out;
	}
	total_curve(&cv[0], B, &kb);
	total_curve(&cv[1], N, &kn);
	snprintf(cv[0].label, sizeof(cv[0].label), "BASE, all sites");
	snprintf(cv[1].label, sizeof(cv[1].label), "NEW, all sites");
	struct svg_line lines[2] = { { cv[0].label, cv[0].x, cv[0].y, cv[0].n },
				     { cv[1].label, cv[1].x, cv[1].y, cv[1].n } };
	fputs("<section id=\"open\"><h2>Open sockets over time</h2>\n<p>Sockets allocated during each "
	      "recording and not yet released, both from their own start.</p>\n", f);
	svg_line_chart(f, "chart-open", "Open sockets over time, BASE and NEW", "open sockets", lines,
		       2, NULL, 0);
	fputs("</section>\n", f);
	diff_table(f, &R, B, N);
	page_tail(f, "two recordings");
	rc = 0;
out:
	free(R.r);
	free(cv);
	if (B)
		diff_free_side(B);
	if (N)
		diff_free_side(N);
	free(B);
	free(N);
	return rc;
}

int cmd_html(struct cli *c)
{
	char why[600];
	if (!c->output) {
		fprintf(stderr, "sockreport: html writes a file: -o OUT.html (try 'sockreport html "
				"--help')\n");
		return 2;
	}
	/* staged before the work (a refusal costs nothing), renamed into
	 * place only when whole: a failed run keeps the old page, if any */
	struct outfile_stage o;
	int fd = outfile_stage(&o, c->output, c->force, why, sizeof(why));
	if (fd < 0) {
		fputs("sockreport: ", stderr);
		out_text_z(stderr, why);
		fputc('\n', stderr);
		return 1;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		outfile_abort(&o);
		fprintf(stderr, "sockreport: out of memory\n");
		return 1;
	}
	int rc = c->nfiles == 2 ? page_diff(c, f) : page_one(c, f);
	if (fflush(f) || ferror(f)) {
		if (!rc) {
			fputs("sockreport: cannot write ", stderr);
			out_text_z(stderr, c->output);
			fputc('\n', stderr);
		}
		rc = rc ? rc : 1;
	}
	if (fclose(f) && !rc) {
		fputs("sockreport: cannot write ", stderr);
		out_text_z(stderr, c->output);
		fputc('\n', stderr);
		rc = 1;
	}
	if (rc) {
		outfile_abort(&o); /* no half page left behind */
	} else if (outfile_commit(&o, why, sizeof(why))) {
		fputs("sockreport: ", stderr);
		out_text_z(stderr, why);
		fputc('\n', stderr);
		rc = 1;
	}
	return rc;
}
