/* wl.h - shared bits of the benchmark workloads (churn, tcp, mixed).
 *
 * Each workload runs for a fixed time (-t SECONDS) or a fixed number of
 * operations (-n COUNT), whichever ends first, and prints ONE JSON line on
 * stdout with its throughput and its own operation counts, so that the
 * harness can compute loss (events recorded / events that happened), and
 * its own CPU time (the harness subtracts it from the recorder's rusage).
 */
#ifndef BENCH_WL_H
#define BENCH_WL_H
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct wl_opts {
	double secs;      /* run time limit, 0 = none */
	uint64_t count;   /* operation limit, 0 = none */
	int threads;
};

static inline uint64_t wl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void wl_die(const char *what)
{
	fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static inline void wl_usage(const char *prog, const char *extra)
{
	fprintf(stderr,
		"usage: %s [-t SECONDS] [-n COUNT]%s\n"
		"  runs until SECONDS have passed or COUNT operations are done (default -t 2)\n"
		"  and prints one JSON line: ops, ops_per_s and the sockets it made\n",
		prog, extra);
	exit(2);
}

/* -t S, -n N, -j THREADS (if allowed). */
static inline void wl_parse(int argc, char **argv, struct wl_opts *o, int allow_threads)
{
	int c;

	o->secs = 0;
	o->count = 0;
	o->threads = 1;
	while ((c = getopt(argc, argv, allow_threads ? "t:n:j:h" : "t:n:h")) != -1) {
		char *end;
		switch (c) {
		case 't':
			o->secs = strtod(optarg, &end);
			if (*end || o->secs <= 0)
				wl_usage(argv[0], allow_threads ? " [-j THREADS]" : "");
			break;
		case 'n':
			o->count = strtoull(optarg, &end, 10);
			if (*end || !o->count)
				wl_usage(argv[0], allow_threads ? " [-j THREADS]" : "");
			break;
		case 'j':
			o->threads = atoi(optarg);
			if (o->threads < 1 || o->threads > 64)
				wl_usage(argv[0], " [-j THREADS]");
			break;
		default:
			wl_usage(argv[0], allow_threads ? " [-j THREADS]" : "");
		}
	}
	if (!o->secs && !o->count)
		o->secs = 2;
}

/* Has the run ended?  Checked every few iterations (the clock is vDSO). */
static inline int wl_done(const struct wl_opts *o, uint64_t start_ns, uint64_t ops)
{
	if (o->count && ops >= o->count)
		return 1;
	if (o->secs > 0 && wl_now_ns() - start_ns >= (uint64_t)(o->secs * 1e9))
		return 1;
	return 0;
}

static inline double wl_tv(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* The common head of the JSON line; the caller adds its own counts and
 * closes it with wl_end(). */
static inline void wl_begin(const char *name, int threads, uint64_t start_ns, uint64_t end_ns,
			    uint64_t ops)
{
	struct rusage ru;
	double secs = (double)(end_ns - start_ns) / 1e9;

	getrusage(RUSAGE_SELF, &ru);
	printf("{\"workload\": \"%s\", \"pid\": %d, \"threads\": %d, \"secs\": %.6f, "
	       "\"ops\": %" PRIu64 ", \"ops_per_s\": %.1f, \"utime\": %.6f, \"stime\": %.6f",
	       name, (int)getpid(), threads, secs, ops, secs > 0 ? (double)ops / secs : 0.0,
	       wl_tv(ru.ru_utime), wl_tv(ru.ru_stime));
}

static inline void wl_u(const char *k, uint64_t v)
{
	printf(", \"%s\": %" PRIu64, k, v);
}

static inline void wl_end(void)
{
	printf("}\n");
	fflush(stdout);
}

#endif
