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
#include <sys/ioctl.h>
#include <unistd.h>
#include "commands.h"

/* The commands: the one list usage(), --help, the file-count checks and
 * the dispatch are derived from.  Listed in the order usage() shows them. */
static const struct command {
	const char *name;
	int (*fn)(struct cli *);
	int nfiles;                /* FILE arguments; 0: one or more */
	int (*many)(struct cli *); /* several files in one report (cmd_fleet.c) */
	int or_two;                /* also takes BASE NEW (a diff) */
	int pprof;                 /* takes --pprof FILE */
	const char *summary;       /* usage()'s line(s) */
	const char *help;          /* COMMAND --help */
} commands[] = {
	{ .name = "leaks", .fn = cmd_leaks, .nfiles = 1, .many = cmd_leaks_many, .pprof = 1,
	  .summary = "sockets allocated and never released, grouped by allocation stack;\n           "
	  "sockets released only by process exit; TCP sockets stranded in\n           "
	  "CLOSE_WAIT with their owner; growth per allocation site",
	  .help =
"Usage: sockreport leaks [OPTIONS] FILE.srec [FILE.srec...]\n"
"Sockets allocated during the recording and still open at its end (older\n"
"than --older), sockets released only by their process's exit, TCP\n"
"sockets stranded in CLOSE_WAIT (the peer closed, the owner never did: owner\n"
"pid, fd, dwell time, accept/connect stack), and growth: per allocation\n"
"site, allocated minus released per minute.  Groups are allocation sites\n"
"(kernel + user stack); a group is marked 'possible' when events were lost\n"
"while its sockets lived.\n"
"Options: --json --top N --older S --folded --pprof FILE -f -p -c --since --until --wide\n"
"         --debug-dir DIR --sysroot DIR --vmlinux FILE -v\n"
"Examples:\n"
"  sockreport leaks trace.srec\n"
"  sockreport leaks --vmlinux /usr/lib/debug/boot/vmlinux-$(uname -r) trace.srec\n"
"  sockreport leaks --top 3 --older 30 -c nginx trace.srec\n"
"  sockreport leaks --folded trace.srec | flamegraph.pl > leaks.svg\n"
"  sockreport leaks --pprof leaks.pb.gz trace.srec && go tool pprof -http=: leaks.pb.gz\n" },
	{ .name = "pairs", .fn = cmd_pairs, .nfiles = 1, .many = NULL,
	  .summary = "one row per socket: owner, kind, addresses, lifetime, how released,\n           "
	  "TCP state path",
	  .help =
"Usage: sockreport pairs [OPTIONS] FILE.srec\n"
"One row per socket, by allocation time: serial and inode, owner pid/comm,\n"
"family/type/protocol, local and remote address, allocation and release\n"
"time, lifetime, how it was released (close, dup2, exit, freed, ...) and by\n"
"which pid when another process released it (fork, SCM_RIGHTS), and the TCP\n"
"state path.  'open' marks sockets still open at the end, 'pre' sockets\n"
"opened before the recording, '?' pairings a loss could affect.\n"
"Options: --json -T --stacks --wide -p -c --since --until --debug-dir --sysroot\n"
"         --vmlinux FILE\n"
"Examples:\n"
"  sockreport pairs trace.srec\n"
"  sockreport pairs --stacks -p 1234 trace.srec\n"
"  sockreport pairs --json trace.srec | jq '.sockets[] | select(.open)'\n" },
	{ .name = "states", .fn = cmd_states, .nfiles = 1, .many = NULL,
	  .summary = "TCP state transitions per connection (like tcpstates)",
	  .help =
"Usage: sockreport states [OPTIONS] FILE.srec\n"
"Every TCP state transition, like tcpstates: time (-T: wall clock), socket\n"
"serial, owner pid and comm, local and remote address and port, old -> new\n"
"state, and the time spent in the old state (ms).  Transitions of an\n"
"accepted connection before accept() and after close() are attributed by\n"
"the struct sock.\n"
"Options: --json -T --wide -p -c --since --until\n"
"Examples:\n"
"  sockreport states trace.srec\n"
"  sockreport states -p 1234 --since 5 trace.srec\n" },
	{ .name = "summary", .fn = cmd_summary, .nfiles = 1, .many = NULL,
	  .summary = "sockets by process/family/type, accepts, connects and their\n           "
	  "results, top remote endpoints",
	  .help =
"Usage: sockreport summary [OPTIONS] FILE.srec\n"
"One recording seen like sockstat/sofamily/soprotocol/soconnect: sockets\n"
"allocated by process x family x type/protocol, accepts and connects by\n"
"process and family, connect results (errno names), top remote endpoints.\n"
"Rows are per command name (comm) by default; --by pid splits them per\n"
"process.  OK/INPR counts connects that returned 0 (OK) or EINPROGRESS (a\n"
"non-blocking connect in progress: its outcome is under 'Connect results').\n"
"Options: --json --by comm|pid --top N --wide -p -c --since --until\n"
"Examples:\n"
"  sockreport summary trace.srec\n"
"  sockreport summary --top 5 --json trace.srec\n" },
	{ .name = "latency", .fn = cmd_latency, .nfiles = 1, .many = cmd_latency_many,
	  .summary = "connect latency, accept-queue wait, lifetime, time in TCP states",
	  .help =
"Usage: sockreport latency [OPTIONS] FILE.srec [FILE.srec...]\n"
"log2 histograms and p50/p90/p99/max of: TCP connect latency (blocking: the\n"
"connect() call; non-blocking: from the call until the socket left\n"
"SYN_SENT), split by result; accept-queue wait (established -> accept()\n"
"returned); socket lifetime; time spent in each TCP state.\n"
"Options: --json --by comm|pid|stack|dport|raddr --wide -p -c --since --until\n"
"Examples:\n"
"  sockreport latency trace.srec\n"
"  sockreport latency --by dport trace.srec\n" },
	{ .name = "allocs", .fn = cmd_allocs, .nfiles = 1, .many = cmd_allocs_many, .pprof = 1,
	  .summary = "every allocation site: allocated, released, open (--folded)",
	  .help =
"Usage: sockreport allocs [OPTIONS] FILE.srec [FILE.srec...]\n"
"Every allocation site (kernel + user stack): sockets allocated, released,\n"
"still open.  With --folded: 'frame;frame;... count' lines, root first, for\n"
"flamegraph.pl or speedscope.\n"
"Options: --json --folded --pprof FILE -f --top N -p -c --since --until\n"
"         --debug-dir --sysroot --vmlinux FILE\n"
"Examples:\n"
"  sockreport allocs --folded trace.srec | flamegraph.pl > allocs.svg\n"
"  sockreport allocs --pprof allocs.pb.gz trace.srec\n" },
	{ .name = "diff", .fn = cmd_diff, .nfiles = 2, .many = NULL,
	  .summary = "compare two recordings (BASE NEW) by symbolized allocation site",
	  .help =
"Usage: sockreport diff [OPTIONS] BASE.srec NEW.srec\n"
"Compares two recordings of the same service, possibly of different builds.\n"
"Allocation sites are matched by their symbolized stacks (module!function\n"
"per frame; --lines adds file:line), never by addresses.  Rates are per\n"
"minute of recording.  Rows (new and vanished sites, leak counts and rates,\n"
"CLOSE_WAIT strandings, lifetimes, connect latency percentiles) are ranked\n"
"by significance.\n"
"--fail-on EXPR: comma-separated conditions; exit 3 when any trips.\n"
"  METRIC OP VALUE, OP one of > >= < <= ==; VALUE a number (the NEW value\n"
"  is compared), +N or -N (the change NEW-BASE), +N% or -N% (the relative\n"
"  change).  Metrics: leaks (still open at the end), leak_rate (per min),\n"
"  exit_leaks, closewait, allocs, alloc_rate, new_sites, connect.p50,\n"
"  connect.p90, connect.p99, connect.max (ms), connect.failed, accept.p50,\n"
"  accept.p99 (ms), lifetime.p50, lifetime.p99 (ms).\n"
"Options: --json --fail-on EXPR --lines --top N --older S --wide\n"
"Examples:\n"
"  sockreport diff base.srec new.srec\n"
"  sockreport diff --fail-on 'leaks>+0,connect.p99>+20%,closewait>0' a.srec b.srec\n" },
	{ .name = "timeline", .fn = cmd_timeline, .nfiles = 1, .many = NULL,
	  .summary = "Chrome/Perfetto trace-event JSON (-o FILE)",
	  .help =
"Usage: sockreport timeline [OPTIONS] FILE.srec -o OUT.json\n"
"Writes Chrome/Perfetto trace-event JSON: one track per process, each socket\n"
"lifetime a complete slice, its TCP states nested slices, connects and\n"
"accepts instant events with their latency in args.  Open it in\n"
"https://ui.perfetto.dev or chrome://tracing.\n"
"The file is created 0600, never through a symbolic link, and never over\n"
"an existing file unless -f is given.\n"
"Options: -o FILE -f -p -c --since --until\n"
"Examples:\n"
"  sockreport timeline -o trace.json trace.srec\n" },
	{ .name = "html", .fn = cmd_html, .nfiles = 1, .many = NULL, .or_two = 1,
	  .summary = "one self-contained HTML page for a ticket (-o FILE; BASE NEW: a diff)",
	  .help =
"Usage: sockreport html [OPTIONS] FILE.srec -o OUT.html\n"
"       sockreport html [OPTIONS] BASE.srec NEW.srec -o OUT.html\n"
"One self-contained page to attach to a ticket: everything inline, nothing\n"
"fetched when it is opened, works from file://.  It shows the host, kernel,\n"
"backend, wall-clock window, losses and completeness (a damaged, incomplete\n"
"or lossy file gets a warning that cannot be missed); open sockets over time\n"
"per top allocation site and in total, with CLOSE_WAIT strandings marked; the\n"
"leak groups of 'leaks' with their stacks (click to unfold); flame graphs\n"
"(icicles, click to zoom) of allocation sites and of leaked sockets; the\n"
"latency histograms with p50/p90/p99.  With two files: the 'diff' table,\n"
"regressions highlighted, and both curves on one chart.  Charts are SVG drawn\n"
"by sockreport; the page holds aggregates only (a 10M-event recording gives\n"
"well under 2 MB).  The file is created mode 0600, never through a symlink,\n"
"never over an existing file without -f.\n"
"Options: -o FILE -f --older S -p -c --since --until --lines --debug-dir DIR\n"
"         --sysroot DIR --vmlinux FILE\n"
"Examples:\n"
"  sockreport html -o report.html trace.srec\n"
"  sockreport html -o diff.html base.srec new.srec\n" },
	{ .name = "ss", .fn = cmd_ss, .nfiles = 1, .many = NULL,
	  .summary = "the sockets open at one moment (--at TIME), like ss",
	  .help =
"Usage: sockreport ss --at TIME [OPTIONS] FILE.srec\n"
"The sockets open at one moment of the recording, like ss(8) run then:\n"
"kind, TCP state, local and peer address, owner pid/comm/fd, age (time\n"
"since allocation; '>' for sockets opened before the recording).  TIME is\n"
"seconds from the start (12.5) or a wall-clock HH:MM:SS (local time).\n"
"As ss: listening sockets only with -l, every state with -a, otherwise\n"
"the non-listening ones; -t TCP, -u UDP, -x UNIX (any combination).\n"
"Options: --at TIME -t -u -x -l -a --json -p -c --wide\n"
"Examples:\n"
"  sockreport ss --at 10:42:07 -ta trace.srec\n"
"  sockreport ss --at 3.5 -x --json trace.srec\n" },
	{ .name = "info", .fn = cmd_info, .nfiles = 1, .many = NULL,
	  .summary = "host, kernel, backend, start and end time, duration, counts,\n           "
	  "losses, completeness",
	  .help =
"Usage: sockreport info [--json] [--no-index] FILE.srec\n"
"Host, kernel, backend per hook, filters, when the recording started and\n"
"ended (UTC and local time), duration, record counts, losses,\n"
"completeness, the index and processes.  With a valid index (written when\n"
"sockrec finishes cleanly) only the blocks holding metadata, strings,\n"
"processes, losses and execs are decompressed and the counts come from\n"
"the index; the result is the same as --no-index, which reads every block.\n"
"Examples:\n"
"  sockreport info trace.srec\n" },
	{ .name = "dump", .fn = cmd_dump, .nfiles = 1, .many = NULL,
	  .summary = "every record, readable (or JSON lines with --json)",
	  .help =
"Usage: sockreport dump [--json] [--raw] [-T] FILE.srec\n"
"Every record, with names: comm and paths as text, TCP states, families,\n"
"types, protocols, errno and release causes by name, addresses dotted or\n"
"bracketed.  --raw prints the numbers and bytes (hex) as recorded.  -T\n"
"adds the wall-clock time.  --json: one object per line, the spec's field\n"
"names (with --raw exactly the spec's shape; otherwise text for META and\n"
"STRING bytes and addresses, NAME_name members with the names and ts_wall).\n"
"The last line is the status, with the index: valid, invalid or absent.\n"
"Examples:\n"
"  sockreport dump --json trace.srec | head\n" },
	{ .name = "export", .fn = cmd_export, .nfiles = 0, .many = NULL,
	  .summary = "tables (sockets, events, sites, recordings) for DuckDB, ClickHouse,\n           "
	  "Spark: FILE... -o DIR, hive-partitioned NDJSON (zstd) or CSV",
	  .help =
"Usage: sockreport export [OPTIONS] FILE.srec... -o DIR\n"
"Writes each recording as four tables, schema in spec/export.md:\n"
"  DIR/sockets/host=H/date=YYYY-MM-DD/REC.ndjson.zst    one row per socket\n"
"  DIR/events/...       one row per event record, names not ids\n"
"  DIR/sites/...        one row per allocation site (portable site_key)\n"
"  DIR/recordings/...   host, kernel, clocks, losses, completeness\n"
"Every row has host and recording_id; a glob over many exports loads in one\n"
"statement.  Files appear only when a recording is fully exported; an\n"
"existing file is never replaced without --force.\n"
"Options: --format ndjson|csv --uncompressed -f -p -c --since --until --older S\n"
"         --debug-dir DIR --sysroot DIR --vmlinux FILE\n"
"Examples:\n"
"  sockreport export -o fleet/ web1.srec web2.srec\n"
"  duckdb -c \"SELECT host, count(*) FROM 'fleet/sockets/*/*/*.ndjson.zst'\n"
"             WHERE leak_class = 'outstanding' GROUP BY host\"\n"
"  duckdb -c \"COPY (FROM 'fleet/sockets/*/*/*.ndjson.zst') TO 'sockets.parquet'\"\n" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fputs("Usage: sockreport COMMAND [OPTIONS] FILE.srec\n", f);
	fputs("       sockreport ", f);
	for (size_t i = 0, k = 0; i < N_COMMANDS; i++)
		if (commands[i].many)
			fprintf(f, "%s%s", k++ ? "|" : "", commands[i].name);
	fputs(" [OPTIONS] FILE.srec FILE.srec...\n"
	      "Analyse a recording made by sockrec, on any machine.\n"
	      "\n"
	      "Commands (sockreport COMMAND --help for each):\n", f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs(
"\n"
"Options:\n"
"  --json               one JSON document (dump: one object per line)\n"
"  -p, --pid PID[,PID]  only sockets owned by these processes\n"
"  -c, --comm COMM      only sockets owned by tasks with this comm\n"
"      --since T        only from T: seconds from the start (2.5) or wall-clock\n"
"                       HH:MM:SS (local time here; TZ=... for another zone)\n"
"      --until T        only until T\n"
"      --older SECONDS  leaks: only sockets at least this old at the end, and\n"
"                       CLOSE_WAIT periods at least this long (default 1)\n"
"      --failed-accepts count the sockets of failed accept() attempts (EAGAIN...)\n"
"                       as sockets too (by default they are only counted apart)\n"
"      --top N          leaks: show the N largest groups of each kind\n"
"      --debug-dir DIR  look for debug files in DIR/.build-id/xx/rest.debug (repeatable)\n"
"      --sysroot DIR    look for the recorded binaries under DIR\n"
"      --no-debuginfod  do not fetch missing debug files from the DEBUGINFOD_URLS\n"
"                       servers (by default they are asked, once per build-id)\n"
"      --vmlinux FILE   the recorded kernel's vmlinux (with DWARF): kernel frames\n"
"                       get file:line and inlined functions; used only if its\n"
"                       build-id matches the recording's kernel\n"
"      --no-demangle    show C++ names as recorded\n"
"      --wide           on a terminal, do not shorten long paths to its width\n"
"                       (output to a pipe or file is never shortened)\n"
"  -T, --wall-clock     pairs, states, dump: wall-clock times (local; TZ=...)\n"
"      --raw            dump: numbers and bytes as recorded, no names\n"
"      --at T           ss: the moment (seconds from the start or HH:MM:SS)\n"
"  -t, -u, -x, -l, -a   ss: TCP, UDP, UNIX sockets; listening ones; all states\n"
"  -f, --force          timeline, html, export: replace an existing output (never\n"
"                       through a symlink)\n"
"      --stacks         pairs: show allocation and release stacks\n"
"      --folded         leaks, allocs: folded stacks for flamegraph.pl/speedscope\n"
"      --by KEY         latency: split by comm, pid, stack, dport or raddr;\n"
"                       summary: group by comm (default) or pid\n"
"      --pprof FILE     leaks, allocs: write a gzipped pprof profile (go tool pprof,\n"
"                       Pyroscope, Parca): allocations, open, leaked per site\n"
"  -o, --output FILE    timeline: write the trace there (default: stdout);\n"
"                       html: write the page there; export: the directory\n"
"      --format FMT     export: ndjson (default) or csv\n"
"      --uncompressed   export: plain files, not zstd-compressed\n"
"      --fail-on EXPR   diff: exit 3 when EXPR trips (see sockreport diff --help)\n"
"      --lines          diff: match stack frames by file:line too\n"
"  -v, --verbose        say where each symbol file was looked for, where each\n"
"                       module's names came from, and whether\n"
"                       the --vmlinux build-id matches\n"
"  -h, --help           this help\n"
"\n"
"Examples:\n"
"  sockreport leaks trace.srec\n"
"  sockreport leaks --json --debug-dir ./dbg trace.srec > leaks.json\n"
"  sockreport pairs -p 1234 --since 10 --until 20 trace.srec\n"
"  sockreport latency --by dport trace.srec\n"
"  sockreport diff --fail-on 'leaks>0,connect.p99>+20%' base.srec new.srec\n"
"  sockreport timeline -o trace.json trace.srec   # open in ui.perfetto.dev\n"
"  sockreport html -o report.html trace.srec      # attach to the ticket\n"
"  sockreport info trace.srec\n"
"  sockreport ss --at 12:03:30 -t trace.srec\n"
"  sockreport dump --json trace.srec | head\n"
"  sockreport export -o fleet/ host1.srec host2.srec\n", f);
}

/* Prints the --help text of a command; 1 if the command is known. */
static int cli_command_help(const char *cmd, FILE *f)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(cmd, commands[i].name)) {
			fputs(commands[i].help, f);
			fputs("Common options: see sockreport --help.\n", f);
			return 1;
		}
	return 0;
}

__attribute__((noreturn, format(printf, 1, 2))) static void die_usage(const char *fmt, ...)
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
	enum { O_JSON = 256, O_SINCE, O_UNTIL, O_OLDER, O_TOP, O_DEBUGDIR, O_SYSROOT, O_VMLINUX, O_NODEMANGLE,
	       O_WIDE, O_STACKS, O_FOLDED, O_BY, O_FAILON, O_LINES, O_NOINDEX, O_RAW, O_AT,
	       O_FAILEDACC, O_NODEBUGINFOD, O_FORMAT, O_UNCOMPRESSED, O_PPROF };
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
		{ "vmlinux", required_argument, NULL, O_VMLINUX },
		{ "no-demangle", no_argument, NULL, O_NODEMANGLE },
		{ "wide", no_argument, NULL, O_WIDE },
		{ "stacks", no_argument, NULL, O_STACKS },
		{ "folded", no_argument, NULL, O_FOLDED },
		{ "by", required_argument, NULL, O_BY },
		{ "output", required_argument, NULL, 'o' },
		{ "fail-on", required_argument, NULL, O_FAILON },
		{ "lines", no_argument, NULL, O_LINES },
		{ "no-index", no_argument, NULL, O_NOINDEX },
		{ "raw", no_argument, NULL, O_RAW },
		{ "wall-clock", no_argument, NULL, 'T' },
		{ "force", no_argument, NULL, 'f' },
		{ "at", required_argument, NULL, O_AT },
		{ "tcp", no_argument, NULL, 't' },
		{ "udp", no_argument, NULL, 'u' },
		{ "unix", no_argument, NULL, 'x' },
		{ "listening", no_argument, NULL, 'l' },
		{ "all", no_argument, NULL, 'a' },
		{ "failed-accepts", no_argument, NULL, O_FAILEDACC },
		{ "no-debuginfod", no_argument, NULL, O_NODEBUGINFOD },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "uncompressed", no_argument, NULL, O_UNCOMPRESSED },
		{ "pprof", required_argument, NULL, O_PPROF },
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
	while ((opt = getopt_long(argc, argv, "p:c:o:vhTftuxla", lo, NULL)) != -1) {
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
		case O_NOINDEX: c->no_index = 1; break;
		case O_FAILEDACC: c->failed_accepts = 1; break;
		case O_NODEBUGINFOD: c->no_debuginfod = 1; break;
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
		case O_VMLINUX: c->vmlinux = optarg; break;
		case O_NODEMANGLE: c->demangle = 0; break;
		case O_WIDE: c->wide = 1; break;
		case O_STACKS: c->stacks = 1; break;
		case O_FOLDED: c->folded = 1; break;
		case O_BY:
			if (strcmp(optarg, "comm") && strcmp(optarg, "pid") && strcmp(optarg, "stack") &&
			    strcmp(optarg, "dport") && strcmp(optarg, "raddr"))
				die_usage("invalid --by '%s' (comm, pid, stack, dport or raddr)", optarg);
			c->by = optarg;
			break;
		case 'o': c->output = optarg; break;
		case O_FAILON: c->fail_on = optarg; break;
		case O_LINES: c->lines = 1; break;
		case O_FORMAT: c->format = optarg; break;
		case O_UNCOMPRESSED: c->uncompressed = 1; break;
		case O_PPROF: c->pprof = optarg; break;
		case 'v': c->verbose = 1; break;
		case O_RAW: c->raw = 1; break;
		case O_AT: c->at = optarg; break;
		case 'T': c->wall = 1; break;
		case 'f': c->force = 1; break;
		case 't': c->ss_tcp = 1; break;
		case 'u': c->ss_udp = 1; break;
		case 'x': c->ss_unix = 1; break;
		case 'l': c->ss_listening = 1; break;
		case 'a': c->ss_all = 1; break;
		case 'h':
			if (!cli_command_help(c->cmd, stdout))
				usage(stdout);
			exit(0);
		default:
			if (optopt)
				die_usage("invalid option '-%c' or missing argument (try 'sockreport --help')",
					  optopt);
			die_usage("invalid option '%s' or missing argument (try 'sockreport --help')",
				  argv[optind - 1]);
		}
	}
	c->files = (const char *const *)argv + optind;
	c->nfiles = argc - optind;
}

int main(int argc, char **argv)
{
	struct cli c;

	parse(argc, argv, &c);
	if (c.pprof && (c.folded || c.json))
		die_usage("--pprof writes a profile: not with --folded or --json (one output per run)");
	const struct command *cmd = NULL;
	for (size_t i = 0; i < N_COMMANDS && !cmd; i++)
		if (!strcmp(c.cmd, commands[i].name))
			cmd = &commands[i];
	if (c.pprof && (!cmd || !cmd->pprof))
		die_usage("--pprof is for leaks and allocs");
	/* Lines are shortened only for a person at a terminal: a pipe or a
	 * file gets every character (grep, less -S and editors need them). */
	c.cut = !c.wide && isatty(STDOUT_FILENO);
	c.cols = 80;
	struct winsize ws;
	if (c.cut && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		c.cols = ws.ws_col;
	if (!c.cut)
		c.wide = 1; /* the commands that cut table rows test --wide */
	if (!cmd)
		die_usage("unknown command '%s' (try 'sockreport --help')", c.cmd);
	int want = cmd->nfiles;
	if (c.nfiles > 1 && cmd->many)
		return cmd->many(&c);
	if (cmd->or_two && c.nfiles == 2)
		want = 2; /* html BASE NEW: the diff page */
	if (c.nfiles != want && want == 2)
		die_usage("%s takes two files: BASE NEW (try 'sockreport %s --help')", c.cmd, c.cmd);
	if (!want && !c.nfiles)
		die_usage("%s takes one or more FILEs (try 'sockreport %s --help')", c.cmd, c.cmd);
	if (want && c.nfiles != want)
		die_usage("%s takes one FILE (try 'sockreport %s --help')", c.cmd, c.cmd);
	return cmd->fn(&c);
}
