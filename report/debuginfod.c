/* debuginfod.c - libdebuginfod requests with one failure per run (see
 * debuginfod.h). */
#include "debuginfod.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SOCKREPORT_NO_DEBUGINFOD
#include <elfutils/debuginfod.h>
#endif

struct dbgd {
	FILE *verbose;
	int tried;       /* the client was made (or could not be) */
	int gave_up;     /* a request failed: no more requests this run */
	char gave_up_why[160];
	int tty;         /* stderr is a terminal: show progress */
	int progress_shown;
	const char *module; /* being fetched, for the progress line ... */
	const char *what;   /* ... and what of it */
#ifndef SOCKREPORT_NO_DEBUGINFOD
	debuginfod_client *client;
#endif
};

struct dbgd *dbgd_new(FILE *verbose)
{
	struct dbgd *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->verbose = verbose;
	d->tty = isatty(STDERR_FILENO);
	return d;
}

void dbgd_free(struct dbgd *d)
{
	if (!d)
		return;
#ifndef SOCKREPORT_NO_DEBUGINFOD
	if (d->client)
		debuginfod_end(d->client);
#endif
	free(d);
}

#ifdef SOCKREPORT_NO_DEBUGINFOD
int dbgd_find(struct dbgd *d, enum dbgd_kind kind, const uint8_t *bid, size_t len,
	      const char *module, char **path, char *why, size_t whysz)
{
	(void)kind, (void)bid, (void)len, (void)module;
	*path = NULL;
	snprintf(why, whysz, "debuginfod support is not built into this (static) sockreport");
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (!d->tried && urls && urls[strspn(urls, " \t")])
		fprintf(stderr, "sockreport: WARNING: DEBUGINFOD_URLS is set, but this static "
				"sockreport has no debuginfod support\n");
	d->tried = 1;
	return DBGD_OFF;
}
#else

/* libdebuginfod calls this while a transfer runs: a = bytes so far, b =
 * expected total (0 or negative when unknown).  Non-zero would cancel. */
static int progress(debuginfod_client *client, long a, long b)
{
	struct dbgd *d = debuginfod_get_user_data(client);
	if (!d || !d->tty)
		return 0;
	if (b > 0)
		fprintf(stderr, "\rsockreport: debuginfod: %s %s: %ld/%ld KiB\033[K", d->module,
			d->what, a / 1024, b / 1024);
	else
		fprintf(stderr, "\rsockreport: debuginfod: %s %s: %ld KiB\033[K", d->module, d->what,
			a / 1024);
	fflush(stderr);
	d->progress_shown = 1;
	return 0;
}

static int client(struct dbgd *d, char *why, size_t whysz)
{
	if (!d->tried) {
		d->tried = 1;
		const char *urls = getenv("DEBUGINFOD_URLS");
		if (!urls || !urls[strspn(urls, " \t")]) {
			snprintf(d->gave_up_why, sizeof(d->gave_up_why), "DEBUGINFOD_URLS is not set");
		} else if (!(d->client = debuginfod_begin())) {
			snprintf(d->gave_up_why, sizeof(d->gave_up_why),
				 "libdebuginfod could not start a client");
		} else {
			debuginfod_set_user_data(d->client, d);
			debuginfod_set_progressfn(d->client, progress);
		}
	}
	if (!d->client || d->gave_up) {
		snprintf(why, whysz, "%s", d->gave_up_why);
		return -1;
	}
	return 0;
}

int dbgd_find(struct dbgd *d, enum dbgd_kind kind, const uint8_t *bid, size_t len,
	      const char *module, char **path, char *why, size_t whysz)
{
	static const char *const what[] = { [DBGD_DEBUGINFO] = "debug info",
					    [DBGD_EXECUTABLE] = "executable" };
	*path = NULL;
	if (client(d, why, whysz))
		return DBGD_OFF;
	d->module = module;
	d->what = what[kind];
	d->progress_shown = 0;
	char *got = NULL;
	int fd = kind == DBGD_DEBUGINFO ?
			 debuginfod_find_debuginfo(d->client, bid, (int)len, &got) :
			 debuginfod_find_executable(d->client, bid, (int)len, &got);
	if (d->progress_shown)
		fputs("\r\033[K", stderr);
	if (fd >= 0) {
		close(fd);
		*path = got;
		return 0;
	}
	free(got);
	if (fd == -ENOMEM)
		return -ENOMEM;
	if (fd == -ENOENT) {
		/* the servers answered: they do not have it */
		snprintf(why, whysz, "no %s on the server(s)", what[kind]);
		return DBGD_NONE;
	}
	/* Anything else (timeout, refused, 5xx, ...) would cost as much again
	 * for every module: stop asking for the rest of this run. */
	d->gave_up = 1;
	snprintf(d->gave_up_why, sizeof(d->gave_up_why), "not asked again after: %s",
		 strerror(-fd));
	fprintf(stderr, "sockreport: WARNING: debuginfod (%s) failed for %s: %s; not asked again "
			"in this run\n", getenv("DEBUGINFOD_URLS"), module, strerror(-fd));
	snprintf(why, whysz, "request failed: %s", strerror(-fd));
	return DBGD_OFF;
}
#endif
