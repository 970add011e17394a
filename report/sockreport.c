/* sockreport.c - offline analysis of .srec files: command dispatch and
 * the options every command shares. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "out.h"
#include "srec_error.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: sockreport COMMAND [OPTIONS] FILE.srec\n"
"Analyse a recording made by sockrec, on any machine.\n"
"\n"
"Commands:\n"
"  leaks    sockets allocated and never released, grouped by allocation stack;\n"
"           sockets released only by process exit; TCP sockets stranded in\n"
"           CLOSE_WAIT with their owner\n"
"  info     host, kernel, backend, duration, counts, losses, completeness\n"
"  dump     every record, readable (or JSON lines with --json)\n"
"\n"
"Options:\n"
"  --json               one JSON document (dump: one object per line)\n"
"  -p, --pid PID[,PID]  only sockets owned by these processes\n"
"  -c, --comm COMM      only sockets owned by tasks with this comm\n"
"      --since T        only from T (seconds from the start, e.g. 2.5)\n"
"      --until T        only until T\n"
"      --older SECONDS  leaks: only sockets at least this old at the end (default 1)\n"
"      --top N          leaks: show the N largest groups of each kind\n"
"      --debug-dir DIR  look for debug files in DIR/.build-id/xx/rest.debug (repeatable)\n"
"      --sysroot DIR    look for the recorded binaries under DIR\n"
"      --no-demangle    show C++ names as recorded\n"
"      --wide           do not shorten lines to 80 columns\n"
"  -v, --verbose        say where each symbol file was looked for\n"
"  -h, --help           this help\n"
"\n"
"Examples:\n"
"  sockreport leaks trace.srec\n"
"  sockreport leaks --json --debug-dir ./dbg trace.srec > leaks.json\n"
"  sockreport info trace.srec\n"
"  sockreport dump --json trace.srec | head\n");
}

static void die_usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "sockreport: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void parse(int argc, char **argv, struct cli *c)
{
	enum { O_JSON = 256, O_SINCE, O_UNTIL, O_OLDER, O_TOP, O_DEBUGDIR, O_SYSROOT, O_NODEMANGLE,
	       O_WIDE };
	static const struct option lo[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "older", required_argument, NULL, O_OLDER },
		{ "top", required_argument, NULL, O_TOP },
		{ "debug-dir", required_argument, NULL, O_DEBUGDIR },
		{ "sysroot", required_argument, NULL, O_SYSROOT },
		{ "no-demangle", no_argument, NULL, O_NODEMANGLE },
		{ "wide", no_argument, NULL, O_WIDE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	char *end;

	memset(c, 0, sizeof(*c));
	c->demangle = 1;
	c->older_ns = 1000000000ull;
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		exit(argc < 2 ? 2 : 0);
	}
	c->cmd = argv[1];
	optind = 2;
	opterr = 0; /* our own one-line messages */
	while ((opt = getopt_long(argc, argv, "p:c:vh", lo, NULL)) != -1) {
		switch (opt) {
		case O_JSON: c->json = 1; break;
		case 'p': {
			char *copy = strdup(optarg), *save = NULL;
			if (!copy)
				die_usage("out of memory");
			for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				long v = strtol(t, &end, 10);
				if (*end || v <= 0 || v > INT_MAX || c->npids == CLI_MAX_PIDS) {
					free(copy);
					die_usage("invalid pid list '%s'", optarg);
				}
				c->pids[c->npids++] = (uint32_t)v;
			}
			free(copy);
			break;
		}
		case 'c': c->comm = optarg; break;
		case O_SINCE: c->since = optarg; break;
		case O_UNTIL: c->until = optarg; break;
		case O_OLDER: {
			double s = strtod(optarg, &end);
			if (*end || s < 0)
				die_usage("invalid --older '%s'", optarg);
			c->older_ns = (uint64_t)(s * 1e9);
			break;
		}
		case O_TOP: {
			long v = strtol(optarg, &end, 10);
			if (*end || v <= 0 || v > INT_MAX)
				die_usage("invalid --top '%s'", optarg);
			c->top = (int)v;
			break;
		}
		case O_DEBUGDIR:
			if (c->ndebug_dirs == CLI_MAX_DIRS)
				die_usage("at most %d --debug-dir", CLI_MAX_DIRS);
			c->debug_dirs[c->ndebug_dirs++] = optarg;
			break;
		case O_SYSROOT: c->sysroot = optarg; break;
		case O_NODEMANGLE: c->demangle = 0; break;
		case O_WIDE: c->wide = 1; break;
		case 'v': c->verbose = 1; break;
		case 'h': usage(stdout); exit(0);
		default:
			if (optopt)
				die_usage("invalid option '-%c' or missing argument (try 'sockreport --help')",
					  optopt);
			die_usage("invalid option '%s' or missing argument (try 'sockreport --help')",
				  argv[optind - 1]);
		}
	}
	for (int i = optind; i < argc; i++) {
		if (c->nfiles == 2)
			die_usage("too many files");
		c->files[c->nfiles++] = argv[i];
	}
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct cli *);
	} cmds[] = {
		{ "leaks", cmd_leaks },
		{ "info", cmd_info },
		{ "dump", cmd_dump },
	};
	struct cli c;

	parse(argc, argv, &c);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(c.cmd, cmds[i].name))
			continue;
		if (c.nfiles != 1)
			die_usage("%s takes one FILE (try 'sockreport --help')", c.cmd);
		return cmds[i].fn(&c);
	}
	die_usage("unknown command '%s' (try 'sockreport --help')", c.cmd);
	return 2;
}
