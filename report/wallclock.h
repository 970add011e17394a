/* wallclock.h - event times (CLOCK_MONOTONIC) as wall-clock times.
 *
 * The recorder reads both clocks once at the start (META
 * clock.monotonic_ns / clock.realtime_ns, spec/srec-format.md): the wall
 * time of a timestamp t is realtime + (t - monotonic).  A later NTP step
 * is not seen; it is the same convention tcpstates -T and perf use.
 */
#ifndef SOCKREPORT_WALLCLOCK_H
#define SOCKREPORT_WALLCLOCK_H
#include <stddef.h>
#include <stdint.h>

struct wall {
	int ok;           /* the file had both clock readings, in range */
	int64_t off;      /* realtime - monotonic, ns */
	/* the date/time part of the last second formatted, per style: a
	 * report printing a time per row calls gmtime/strftime once a second */
	int64_t csec[4];
	char cpart[4][48];
};

enum wall_style {
	WALL_ISO_UTC,     /* "2026-12-03T08:45:43.123456Z": JSON */
	WALL_TIME,        /* "08:45:43.123456", local time: a table column */
	WALL_UTC,         /* "2026-12-03 08:45:43.123 UTC" */
	WALL_LOCAL,       /* "2026-12-03 09:45:43.123 CET", local time (TZ) */
};

/* realtime - monotonic (ns) from the two META values: 0, or -1 when
 * either is missing, not a number, or beyond 2^62 ns (year 2116), which
 * only a hostile file holds; the bound keeps every later sum in range. */
int wall_offset(const char *mono, const char *real, int64_t *off);
/* The wall-clock ns of monotonic ts: 0, or -1 when it is out of range
 * (a hostile ts), never a signed overflow. */
int wall_ns(int64_t off, uint64_t ts, int64_t *ns);

/* From the two META values (either may be NULL: w->ok = 0). */
void wall_init(struct wall *w, const char *mono, const char *real);
/* Formats ts in style into buf; "?" (and returns -1) without clocks. */
int wall_fmt(struct wall *w, uint64_t ts, enum wall_style style, char *buf, size_t cap);

#endif
