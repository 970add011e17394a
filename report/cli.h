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
	const char *files[2];
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
};

/* Loads a file into m with the command line's filters; prints a one-line
 * error and returns non-zero when the file cannot be read at all. */
int cli_load(const struct cli *c, const char *path, struct model *m, model_done_fn done,
	     void *arg);
/* A symbolizer configured from the command line; NULL on ENOMEM. */
struct sym_ctx *cli_symbolizer(const struct cli *c);
/* Print the loss / salvage / incomplete warnings (text to stderr). */
void cli_warnings(const struct cli *c, const struct model *m, const char *path);
/* JSON members describing completeness, for every --json document. */
void cli_json_status(FILE *f, const struct model *m);
/* Seconds since the recording start, for display. */
double cli_rel(const struct model *m, uint64_t ts);
/* Human duration: "1.2s", "35ms", "4.1us". */
void cli_dur(char *buf, size_t cap, uint64_t ns);
const char *first_error_name(int err);

int cmd_leaks(struct cli *c);
int cmd_dump(struct cli *c);
int cmd_info(struct cli *c);

#endif
