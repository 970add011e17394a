/* table_out.h - one exported table file: rows of a fixed column list as
 * newline-delimited JSON or CSV, zstd-compressed or plain.
 *
 * A table is written to a temporary file in the export directory and put
 * in its place (DIR/TABLE/host=H/date=D/REC.EXT) only by tout_commit(),
 * once the whole recording was read: the host and date come from the
 * file's metadata, and a reader that globs the export never sees half a
 * recording (an interrupted export leaves only .partial files behind).
 *
 * The column names are given once, at open: the CSV header and the JSON
 * keys come from the same list, and tout_end() fails a row that did not
 * give exactly that many values (a schema and its writer cannot drift).
 */
#ifndef SOCKREPORT_TABLE_OUT_H
#define SOCKREPORT_TABLE_OUT_H
#include <stddef.h>
#include <stdint.h>

enum tout_fmt { TOUT_NDJSON, TOUT_CSV };

struct tout;

/* Opens a temporary table file in dir (created 0700 if missing) for the
 * columns cols[0..ncols-1]; NULL with a reason in why. */
struct tout *tout_open(const char *dir, const char *table, const char *const *cols, size_t ncols,
		       enum tout_fmt fmt, int zstd, char *why, size_t whylen);
void tout_row(struct tout *t);
void tout_str(struct tout *t, const char *s); /* NULL: null / empty */
void tout_u64(struct tout *t, uint64_t v);
void tout_i64(struct tout *t, int64_t v);
void tout_bool(struct tout *t, int v);
void tout_null(struct tout *t);
void tout_sec(struct tout *t, int64_t ns); /* seconds, 6 decimals */
/* An array of strings (CSV: its JSON text in one field). */
void tout_strs(struct tout *t, const char *const *v, size_t n);
void tout_end(struct tout *t);
/* The most tables one tout_commit() takes. */
#define TOUT_COMMIT_MAX 8
/* Finishes the n files of one recording and moves each to
 * dir/TABLE/host=HOST/date=DATE/REC.EXT (partition values %-escaped),
 * never over an existing file unless force.  All or nothing: every
 * target is checked before the first move, and a failed move takes back
 * the ones before it.  Adds the files' sizes to *bytes.  Frees the tables
 * and sets ts[] to NULL.  0, or -1 with a reason in why (the temporary
 * files are removed).  A crash between two moves can still leave part of
 * a recording; `--force` on a rerun completes it. */
int tout_commit(struct tout **ts, size_t n, const char *host, const char *date, const char *rec,
		int force, uint64_t *bytes, char *why, size_t whylen);
/* Drops the table: closes and removes the temporary file, frees t. */
void tout_abort(struct tout *t);

#endif
