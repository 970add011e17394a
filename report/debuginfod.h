/* debuginfod.h - debug files by build-id from debuginfod servers, through
 * elfutils' libdebuginfod (the HTTP client, its cache and its timeouts are
 * the library's: DEBUGINFOD_URLS, DEBUGINFOD_CACHE_PATH, DEBUGINFOD_TIMEOUT,
 * DEBUGINFOD_MAXTIME ... as documented in debuginfod-client-config(7)).
 *
 * What this adds to the library:
 *  - the client is made on the first request, never when DEBUGINFOD_URLS
 *    is unset or empty;
 *  - one failure per run at most: after an answer other than "the server
 *    has no such file" (a timeout, a refused connection, a server error),
 *    no further request is made in this run, so an unreachable or slow
 *    server costs one timeout, not one per module; that is said once on
 *    stderr;
 *  - progress on a terminal: while a download runs and stderr is a tty, one
 *    line "sockreport: debuginfod: MODULE debug info: N/M KiB" is kept up to
 *    date, and erased when the download ends.
 *
 * A build made with SOCKREPORT_NO_DEBUGINFOD defined (the STATIC=1 build:
 * Debian has no libdebuginfod.a) answers every request with "not built in".
 */
#ifndef SOCKREPORT_DEBUGINFOD_H
#define SOCKREPORT_DEBUGINFOD_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct dbgd;

enum dbgd_kind { DBGD_DEBUGINFO, DBGD_EXECUTABLE };

/* A client holder; verbose (may be NULL) gets one line per request.
 * NULL on ENOMEM. */
struct dbgd *dbgd_new(FILE *verbose);
void dbgd_free(struct dbgd *d);

/* Fetches (or finds in the library's cache) the file of that kind for the
 * build-id.  module names it in the progress line.  Returns 0 with *path
 * set to a malloc'd path of the file in the cache, DBGD_NONE when the
 * servers have no such file, DBGD_OFF when no request can be made (not
 * configured, given up after a failure, not built in), or -ENOMEM; *why
 * says why when it is not 0. */
enum { DBGD_NONE = 1, DBGD_OFF = 2 };
int dbgd_find(struct dbgd *d, enum dbgd_kind kind, const uint8_t *bid, size_t len,
	      const char *module, char **path, char *why, size_t whysz);

#endif
