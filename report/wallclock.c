/* wallclock.c - see wallclock.h. */
#include "wallclock.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void wall_init(struct wall *w, const char *mono, const char *real)
{
	w->mono = mono ? strtoull(mono, NULL, 10) : 0;
	w->real = real ? strtoull(real, NULL, 10) : 0;
	w->ok = w->mono && w->real;
}

int wall_fmt(const struct wall *w, uint64_t ts, enum wall_style style, char *buf, size_t cap)
{
	if (!w->ok) {
		snprintf(buf, cap, "?");
		return -1;
	}
	/* signed: an event may precede the clock reading by a little */
	int64_t ns = (int64_t)w->real + ((int64_t)ts - (int64_t)w->mono);
	time_t sec = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	struct tm tm;
	int utc = style == WALL_ISO_UTC || style == WALL_UTC;
	if (!(utc ? gmtime_r(&sec, &tm) : localtime_r(&sec, &tm))) {
		snprintf(buf, cap, "?");
		return -1;
	}
	char d[64];
	switch (style) {
	case WALL_ISO_UTC:
		strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf, cap, "%s.%06ldZ", d, frac / 1000);
		break;
	case WALL_TIME:
		strftime(d, sizeof(d), "%H:%M:%S", &tm);
		snprintf(buf, cap, "%s.%06ld", d, frac / 1000);
		break;
	case WALL_UTC:
	case WALL_LOCAL: {
		char z[16];
		strftime(d, sizeof(d), "%Y-%m-%d %H:%M:%S", &tm);
		strftime(z, sizeof(z), utc ? "UTC" : "%Z", &tm);
		snprintf(buf, cap, "%s.%03ld %s", d, frac / 1000000, z);
		break;
	}
	}
	return 0;
}
