/* table_out.c - exported table files (see table_out.h). */
#include "table_out.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include "fbuf.h"
#include "out.h"
#include "outfile.h"

/* zstd level 3 (the library default): an export is written once and read
 * by engines many times, but a fleet exports continuously; 3 keeps the
 * export near the speed of reading the .srec. */
#define TOUT_ZSTD_LEVEL 3

struct tout {
	FILE *f;            /* stdio over the sink below: rows are fprintf'd */
	int fd;
	ZSTD_CCtx *z;
	char zbuf[1 << 16];
	int sink_err;
	uint64_t bytes;
	char *tmp;          /* path of the temporary file */
	char *dir, *table;
	const char *const *cols;
	size_t ncols, col;
	enum tout_fmt fmt;
	int err;            /* a row with the wrong number of values */
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Compresses (or passes) what stdio hands over, in mode `end`. */
static int sink_put(struct tout *t, const char *buf, size_t size, ZSTD_EndDirective end)
{
	if (!t->z) {
		if (write_all(t->fd, buf, size))
			return -1;
		t->bytes += size;
		return 0;
	}
	ZSTD_inBuffer in = { buf, size, 0 };
	for (;;) {
		ZSTD_outBuffer o = { t->zbuf, sizeof(t->zbuf), 0 };
		size_t r = ZSTD_compressStream2(t->z, &o, &in, end);
		if (ZSTD_isError(r) || write_all(t->fd, t->zbuf, o.pos))
			return -1;
		t->bytes += o.pos;
		if (end == ZSTD_e_end ? r == 0 : in.pos == in.size)
			return 0;
	}
}

static ssize_t sink_write(void *cookie, const char *buf, size_t size)
{
	struct tout *t = cookie;
	if (t->sink_err || sink_put(t, buf, size, ZSTD_e_continue)) {
		t->sink_err = 1;
		return -1;
	}
	return (ssize_t)size;
}

static int sink_close(void *cookie)
{
	struct tout *t = cookie;
	if (!t->sink_err && t->z && sink_put(t, "", 0, ZSTD_e_end))
		t->sink_err = 1;
	if (close(t->fd))
		t->sink_err = 1;
	t->fd = -1;
	return t->sink_err ? -1 : 0;
}

static void tfree(struct tout *t)
{
	ZSTD_freeCCtx(t->z);
	free(t->tmp);
	free(t->dir);
	free(t->table);
	free(t);
}

struct tout *tout_open(const char *dir, const char *table, const char *const *cols, size_t ncols,
		       enum tout_fmt fmt, int zstd, char *why, size_t whylen)
{
	struct tout *t = calloc(1, sizeof(*t));
	if (!t || !(t->dir = strdup(dir)) || !(t->table = strdup(table)) ||
	    (zstd && !(t->z = ZSTD_createCCtx())) ||
	    asprintf(&t->tmp, "%s/.%s.partial.XXXXXX", dir, table) < 0) {
		if (t)
			t->tmp = NULL;
		snprintf(why, whylen, "out of memory");
		if (t)
			tfree(t);
		return NULL;
	}
	if (t->z && ZSTD_isError(ZSTD_CCtx_setParameter(t->z, ZSTD_c_compressionLevel,
							 TOUT_ZSTD_LEVEL))) {
		snprintf(why, whylen, "zstd refused level %d", TOUT_ZSTD_LEVEL);
		tfree(t);
		return NULL;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(why, whylen, "cannot create %s: %s", dir, strerror(errno));
		tfree(t);
		return NULL;
	}
	/* mkostemp: O_CREAT|O_EXCL, mode 0600, never through a symlink */
	t->fd = mkostemp(t->tmp, O_CLOEXEC);
	if (t->fd < 0) {
		snprintf(why, whylen, "cannot create a file in %s: %s", dir, strerror(errno));
		tfree(t);
		return NULL;
	}
	static const cookie_io_functions_t io = { .write = sink_write, .close = sink_close };
	t->f = fopencookie(t, "w", io);
	if (!t->f) {
		snprintf(why, whylen, "out of memory");
		close(t->fd);
		unlink(t->tmp);
		tfree(t);
		return NULL;
	}
	t->cols = cols;
	t->ncols = ncols;
	t->fmt = fmt;
	if (fmt == TOUT_CSV) {
		for (size_t i = 0; i < ncols; i++)
			fprintf(t->f, "%s%s", i ? "," : "", cols[i]);
		fputc('\n', t->f);
	}
	return t;
}

void tout_row(struct tout *t)
{
	t->col = 0;
}

/* Rows are written in many small pieces: unlocked stdio (one thread)
 * and no format parsing (fprintf and a locked fputc per byte of
 * out_json_str were two thirds of an export, perf). */
static inline void put(struct tout *t, const char *s, size_t n)
{
	fwrite_unlocked(s, 1, n, t->f);
}

static void put_u64(struct tout *t, uint64_t v)
{
	char b[24];
	put(t, b, (size_t)(fb_put_u64(b, v) - b));
}

/* The separator and, for JSON, the key of the next column. */
static void next(struct tout *t)
{
	if (t->col >= t->ncols) {
		t->err = 1;
		t->col++;
		return;
	}
	if (t->fmt == TOUT_NDJSON) {
		const char *name = t->cols[t->col];
		put(t, t->col ? ",\"" : "{\"", 2);
		put(t, name, strlen(name));
		put(t, "\":", 2);
	} else if (t->col) {
		put(t, ",", 1);
	}
	t->col++;
}

/* A JSON string literal; strings of printable ASCII (nearly all: names,
 * comms, frames) straight, anything else through out_json_str. */
static void json_str(FILE *f, const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e || s[n] == '"' ||
		    s[n] == '\\')
			break;
	if (s[n]) {
		out_json_z(f, s);
		return;
	}
	fputc_unlocked('"', f);
	fwrite_unlocked(s, 1, n, f);
	fputc_unlocked('"', f);
}

/* A CSV field: quoted when it holds a separator, quote or line break. */
static void csv_field(FILE *f, const char *s, size_t n)
{
	if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n)) {
		fwrite(s, 1, n, f);
		return;
	}
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

void tout_str(struct tout *t, const char *s)
{
	next(t);
	if (t->fmt == TOUT_NDJSON) {
		if (s)
			json_str(t->f, s);
		else
			put(t, "null", 4);
		return;
	}
	if (!s)
		return;
	size_t n = 0;
	for (; s[n]; n++)
		if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e || s[n] == '"' ||
		    s[n] == '\\' || s[n] == ',')
			break;
	if (!s[n]) { /* nothing to quote or escape: most fields */
		put(t, s, n);
		return;
	}
	/* the JSON escaping of hostile bytes, without the quotes */
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m) {
		t->err = 1;
		return;
	}
	out_json_z(m, s);
	if (fclose(m) || len < 2) {
		free(buf);
		t->err = 1;
		return;
	}
	/* JSON's \" back to a bare quote, which csv_field doubles (RFC 4180):
	 * a CSV reader gets the quote itself, while control and non-ASCII
	 * bytes stay escaped.  Escapes are pairs, so a \\ is skipped whole. */
	size_t w = 0;
	for (size_t r = 1; r + 1 < len; r++) {
		if (buf[r] == '\\' && r + 2 < len) {
			if (buf[r + 1] != '"')
				buf[w++] = buf[r];
			r++;
		}
		buf[w++] = buf[r];
	}
	csv_field(t->f, buf, w);
	free(buf);
}

void tout_u64(struct tout *t, uint64_t v)
{
	next(t);
	put_u64(t, v);
}

void tout_i64(struct tout *t, int64_t v)
{
	next(t);
	if (v < 0)
		put(t, "-", 1);
	put_u64(t, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
}

void tout_bool(struct tout *t, int v)
{
	next(t);
	if (v)
		put(t, "true", 4);
	else
		put(t, "false", 5);
}

void tout_null(struct tout *t)
{
	next(t);
	if (t->fmt == TOUT_NDJSON)
		put(t, "null", 4);
}

void tout_sec(struct tout *t, int64_t ns)
{
	next(t);
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	a += 500; /* rounded to the microsecond */
	char frac[7];
	uint64_t us = a / 1000 % 1000000u;
	for (int i = 5; i >= 0; i--, us /= 10)
		frac[i] = (char)('0' + us % 10);
	frac[6] = '.';
	if (ns < 0)
		put(t, "-", 1);
	put_u64(t, a / 1000000000u);
	put(t, frac + 6, 1);
	put(t, frac, 6);
}

void tout_strs(struct tout *t, const char *const *v, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = t->fmt == TOUT_CSV ? open_memstream(&buf, &len) : t->f;
	next(t);
	if (!m) {
		t->err = 1;
		return;
	}
	fputc('[', m);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', m);
		json_str(m, v[i] ? v[i] : "");
	}
	fputc(']', m);
	if (m != t->f) {
		if (fclose(m)) {
			free(buf);
			t->err = 1;
			return;
		}
		csv_field(t->f, buf, len);
		free(buf);
	}
}

void tout_end(struct tout *t)
{
	if (t->col != t->ncols)
		t->err = 1;
	if (t->fmt == TOUT_NDJSON)
		put(t, "}\n", 2);
	else
		put(t, "\n", 1);
}

void tout_abort(struct tout *t)
{
	if (!t)
		return;
	fclose(t->f);
	unlink(t->tmp);
	tfree(t);
}

/* A hive partition value: bytes outside [A-Za-z0-9._-] as %XX, so that a
 * host name can never name another directory ("..", "/"). */
static void part_escape(char *out, size_t cap, const char *key, const char *v)
{
	size_t n = (size_t)snprintf(out, cap, "%s=", key);
	if (!*v || !strcmp(v, ".") || !strcmp(v, ".."))
		v = *v ? (v[1] ? "%2E%2E" : "%2E") : "unknown";
	int literal = v[0] == '%'; /* the escaped dots above */
	for (const unsigned char *p = (const unsigned char *)v; *p && n + 4 < cap; p++) {
		if (literal || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-')
			out[n++] = (char)*p;
		else
			n += (size_t)snprintf(out + n, cap - n, "%%%02X", *p);
	}
	out[n] = 0;
}

/* Where a finished table goes: its directory (opened, made if missing)
 * and its name there. */
struct place {
	int d[4]; /* dir, TABLE, host=H, date=D */
	char name[300], shown[1300];
};

/* Finishes t's file and makes its directories; with !force, refuses when
 * the final name exists (before anything is moved).  0 or -1 with why. */
static int prepare(struct tout *t, struct place *pl, const char *host, const char *date,
		   const char *rec, int force, uint64_t *bytes, char *why, size_t whylen)
{
	char hp[600], dp[64];
	int bad_rows = t->err;
	int werr = ferror(t->f);
	int cerr = fclose(t->f);
	t->f = NULL;
	if (cerr || werr) {
		snprintf(why, whylen, "writing %s: %s", t->tmp, t->sink_err ? strerror(errno) : "error");
		return -1;
	}
	*bytes += t->bytes;
	if (bad_rows) {
		snprintf(why, whylen, "internal error: a %s row does not match its columns", t->table);
		return -1;
	}
	part_escape(hp, sizeof(hp), "host", host);
	part_escape(dp, sizeof(dp), "date", date);
	snprintf(pl->name, sizeof(pl->name), "%s.%s%s", rec, t->fmt == TOUT_CSV ? "csv" : "ndjson",
		 t->z ? ".zst" : "");
	snprintf(pl->shown, sizeof(pl->shown), "%s/%s/%s/%s/%s", t->dir, t->table, hp, dp, pl->name);
	if ((pl->d[0] = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (pl->d[1] = outfile_subdir(pl->d[0], t->table)) < 0 ||
	    (pl->d[2] = outfile_subdir(pl->d[1], hp)) < 0 ||
	    (pl->d[3] = outfile_subdir(pl->d[2], dp)) < 0) {
		snprintf(why, whylen, "cannot create %s/%s/%s/%s: %s", t->dir, t->table, hp, dp,
			 strerror(errno));
		return -1;
	}
	struct stat sb;
	if (!force && !fstatat(pl->d[3], pl->name, &sb, AT_SYMLINK_NOFOLLOW)) {
		snprintf(why, whylen, "%s exists (use --force to replace it)", pl->shown);
		return -1;
	}
	return 0;
}

int tout_commit(struct tout **ts, size_t n, const char *host, const char *date, const char *rec,
		int force, uint64_t *bytes, char *why, size_t whylen)
{
	struct place pl[TOUT_COMMIT_MAX];
	size_t placed = 0;
	int rc = -1;
	for (size_t i = 0; i < TOUT_COMMIT_MAX; i++)
		for (int k = 0; k < 4; k++)
			pl[i].d[k] = -1;
	if (n > TOUT_COMMIT_MAX) {
		snprintf(why, whylen, "internal error: %zu tables in one commit", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (prepare(ts[i], &pl[i], host, date, rec, force, bytes, why, whylen))
			goto out;
	/* renameat2(RENAME_NOREPLACE): no window in which an existing file
	 * could be replaced (one made since prepare() looked is refused);
	 * with --force a plain rename replaces it (and a symlink there is
	 * replaced itself, never followed). */
	for (; placed < n; placed++) {
		if (!renameat2(AT_FDCWD, ts[placed]->tmp, pl[placed].d[3], pl[placed].name,
			       force ? 0 : RENAME_NOREPLACE))
			continue;
		if (errno == EEXIST)
			snprintf(why, whylen, "%s exists (use --force to replace it)", pl[placed].shown);
		else
			snprintf(why, whylen, "cannot move the export into %s: %s", pl[placed].shown,
				 strerror(errno));
		goto out;
	}
	rc = 0;
out:
	/* all or nothing: the tables already moved are taken back, so a
	 * reader never joins one recording's sockets without its events */
	for (size_t i = 0; rc && i < placed; i++)
		unlinkat(pl[i].d[3], pl[i].name, 0);
	for (size_t i = 0; i < n && i < TOUT_COMMIT_MAX; i++) {
		if (rc && ts[i]->tmp)
			unlink(ts[i]->tmp);
		for (int k = 0; k < 4; k++)
			if (pl[i].d[k] >= 0)
				close(pl[i].d[k]);
	}
	for (size_t i = 0; i < n; i++) {
		if (ts[i]->f)
			fclose(ts[i]->f);
		tfree(ts[i]);
		ts[i] = NULL;
	}
	return rc;
}
