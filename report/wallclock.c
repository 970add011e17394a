/* wallclock.c - see wallclock.h. */
#include "wallclock.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WALL_MAX_NS (1ull << 62)

static int parse_ns(const char *s, uint64_t *v)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end || !*v || *v > WALL_MAX_NS ? -1 : 0;
}

int wall_offset(const char *mono, const char *real, int64_t *off)
{
	uint64_t m, r;
	if (parse_ns(mono, &m) || parse_ns(real, &r))
		return -1;
	*off = (int64_t)r - (int64_t)m; /* both <= 2^62: no overflow */
	return 0;
}

int wall_ns(int64_t off, uint64_t ts, int64_t *ns)
{
	if (ts > WALL_MAX_NS)
		return -1;
	*ns = (int64_t)ts + off; /* |off| and ts <= 2^62: no overflow */
	return 0;
}

void wall_init(struct wall *w, const char *mono, const char *real)
{
	memset(w, 0, sizeof(*w));
	w->ok = !wall_offset(mono, real, &w->off);
}

int wall_fmt(struct wall *w, uint64_t ts, enum wall_style style, char *buf, size_t cap)
{
	if (!w->ok) {
		snprintf(buf, cap, "?");
		return -1;
	}
	/* signed: an event may precede the clock reading by a little */
	int64_t ns;
	if (wall_ns(w->off, ts, &ns)) {
		snprintf(buf, cap, "?");
		return -1;
	}
	int64_t sec = ns / 1000000000;
	long frac = (long)(ns % 1000000000);
	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	int utc = style == WALL_ISO_UTC || style == WALL_UTC;
	char *part = w->cpart[style];
	if (w->csec[style] != sec + 1 || !part[0]) { /* csec holds sec + 1: 0 is "none" */
		static const char *const fmt[4] = { "%Y-%m-%dT%H:%M:%S", "%H:%M:%S",
						    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S" };
		time_t t = (time_t)sec;
		struct tm tm;
		if (!(utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) ||
		    !strftime(part, sizeof(w->cpart[0]), fmt[style], &tm)) {
			snprintf(buf, cap, "?");
			return -1;
		}
		if (style == WALL_UTC || style == WALL_LOCAL) {
			char z[16];
			strftime(z, sizeof(z), utc ? "UTC" : "%Z", &tm);
			size_t l = strlen(part);
			/* the zone goes after the fraction: kept after a NUL */
			snprintf(part + l + 1, sizeof(w->cpart[0]) - l - 1, "%s", z);
		}
		w->csec[style] = sec + 1;
	}
	switch (style) {
	case WALL_ISO_UTC:
		snprintf(buf, cap, "%s.%06ldZ", part, frac / 1000);
		break;
	case WALL_TIME:
		snprintf(buf, cap, "%s.%06ld", part, frac / 1000);
		break;
	default:
		snprintf(buf, cap, "%s.%03ld %s", part, frac / 1000000, part + strlen(part) + 1);
		break;
	}
	return 0;
}
