/* cli.h - options shared by every sockreport command, and the helpers
 * each command uses to open a file and print the common warnings. */
#ifndef SOCKREPORT_CLI_H
#define SOCKREPORT_CLI_H
#include <stdint.h>
#include <stdio.h>
#include "model.h"
#include "symbolize.h"

#define CLI_MAX_PIDS 64
#define CLI_MAX_DIRS 16

struct cli {
	const char *cmd;
	const char *const *files; /* the command line's FILE arguments */
	int nfiles;
	int json;
	int verbose;
	int wide;
	int demangle;
	int top;                /* 0 = all */
	uint64_t older_ns;      /* leaks: minimum age */
	uint32_t pids[CLI_MAX_PIDS];
	int npids;
	const char *comm;
	const char *since, *until;
	const char *debug_dirs[CLI_MAX_DIRS];
	int ndebug_dirs;
	const char *sysroot;
	const char *vmlinux;    /* --vmlinux FILE: kernel frames with file:line */
	int no_debuginfod;      /* --no-debuginfod */
	int stacks;             /* pairs: show alloc/release stacks */
	int folded;             /* leaks/allocs: folded stacks for flame graphs */
	const char *by;         /* latency: comm|pid|stack|dport|raddr */
	const char *output;     /* timeline: -o FILE */
	const char *fail_on;    /* diff: --fail-on EXPR */
	int lines;              /* diff: match stacks with file:line too */
	int no_index;           /* --no-index: read every block, never use the index */
	int failed_accepts;     /* --failed-accepts: see mfilter.failed_accepts */
	uint64_t index_types;   /* set by a command: see mfilter.index_types */
	int raw;                /* dump: numbers as recorded, bytes as hex */
	int wall;               /* -T: wall-clock times (pairs, states, dump) */
	int force;              /* -f: timeline and html -o may replace an existing file */
	const char *at;         /* ss: --at TIME */
	int ss_tcp, ss_udp, ss_unix, ss_listening, ss_all; /* ss: -t -u -x -l -a */
	int cut;                /* cut/shorten lines to `cols` (a terminal, no --wide) */
	int cols;               /* the terminal's width (80 if unknown) */
	const char *format;     /* export: ndjson (default) or csv */
	int uncompressed;       /* export: plain files, not zstd */
	const char *pprof;      /* allocs/leaks: --pprof FILE (gzipped profile.proto) */
};

/* --- helpers shared by the commands --- */

/* "valid", "invalid" or "absent", for srec_read_status.index. */
const char *cli_index_state(int state);

/* struct vals: bounded histograms of durations, see hist.h */


/* "127.0.0.1:80", "[::1]:80", "*" for a zero address without port. */
void cli_addr(char *buf, size_t cap, uint32_t family, const uint8_t addr[16], uint16_t port);
/* "INET/STREAM/TCP" */
void cli_kind(char *buf, size_t cap, uint32_t family, uint32_t type, uint32_t protocol);
/* "SYN_SENT>ESTABLISHED>CLOSE" (sep between states) */
void cli_state_path(char *buf, size_t cap, const struct msock *s, const char *sep);
/* JSON array of a stack's symbolized lines. */
struct stacks;
void cli_json_stack(FILE *f, struct stacks *st, uint64_t ref);
/* Prints the common head of text reports: "sockreport CMD: FILE" and host. */
void cli_text_head(const struct cli *c, const struct model *m, const char *path);
/* A line of text: on a terminal (c->cut) longer than the terminal's width,
 * the middle of its paths is shortened ("/a/b/c/d/x.c:3" -> ".../d/x.c:3");
 * nothing else is dropped.  Written whole when stdout is not a terminal. */
void cli_puts_cut(const struct cli *c, const char *line, int width);
/* The same shortening into buf (cap bytes) for a line that must fit width. */
void cli_shorten(char *buf, size_t cap, const char *line, int width);

/* Loads a file into m with the command line's filters; prints a one-line
 * error and returns non-zero when the file cannot be read at all. */
int cli_load(const struct cli *c, const char *path, struct model *m, model_done_fn done,
	     void *arg);
/* As cli_load, with an event callback too (see model_load_ev). */
int cli_load_ev(const struct cli *c, const char *path, struct model *m, model_done_fn done,
		model_event_fn event, void *arg);
/* End of the recording: recording.end_ns, or the last timestamp. */
uint64_t cli_end(const struct model *m);
/* A symbolizer configured from the command line; NULL on ENOMEM. */
struct sym_ctx *cli_symbolizer(const struct cli *c);
/* Skipped hook runs (LOSS kind 6) that could have been socket events, by
 * the per-hook counts (META stats.hook_skips.<hook>); *free_skips: those
 * of the slab-free hook, which can only hide the release of a socket that
 * then reads as still open. */
uint64_t cli_hook_skips_that_matter(const struct model *m, uint64_t *free_skips);
/* Print the loss / salvage / incomplete warnings (text to stderr). */
void cli_warnings(const struct cli *c, const struct model *m, const char *path);
/* The same lines to f ("sockreport: WARNING: ..." / "sockreport: note: ..."). */
void cli_warnings_to(FILE *f, const struct model *m, const char *path);
/* JSON members describing completeness, for every --json document. */
void cli_json_status(FILE *f, const struct model *m);
/* The recording's clocks, for wall-clock times (wallclock.h). */
struct wall;
void cli_wall(const struct model *m, struct wall *w);
/* Parses a time of the command line ("2.5" from the start, or HH:MM:SS
 * wall clock) against m into absolute monotonic ns: 0, -1 (bad syntax),
 * -2 (wall clock asked, the file has no clock metadata). */
int cli_parse_time(const char *s, const struct model *m, uint64_t *out);
/* Seconds since the recording start, for display. */
double cli_rel(const struct model *m, uint64_t ts);
/* Human duration: "1.2s", "35ms", "4.1us". */
void cli_dur(char *buf, size_t cap, uint64_t ns);
const char *first_error_name(int err);


#endif
