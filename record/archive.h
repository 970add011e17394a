/* archive.h - `sockrec archive FILE`: the host's binaries and debug files
 * for every module a recorded user stack hits, like `perf archive`.
 *
 * The bundle is a plain directory, FILE.archive/ by default, laid out as a
 * debug directory (the layout gdb, perf, elfutils and sockreport
 * --debug-dir read):
 *
 *     FILE.archive/.build-id/xx/rest         the module's binary
 *     FILE.archive/.build-id/xx/rest.debug   its separate debug file
 *
 * (xx = first build-id byte in hex, rest = the other bytes).  A binary is
 * taken from the recorded path only if its NT_GNU_BUILD_ID note equals the
 * recorded build-id; a debug file from /usr/lib/debug/.build-id/ only if its
 * build-id matches too, or through the binary's .gnu_debuglink (beside it,
 * in .debug/, under /usr/lib/debug/DIR/) only if its CRC-32 matches.
 * Modules without a recorded build-id cannot be keyed and are listed as
 * skipped.  sockreport uses FILE.archive/ by itself when it sits beside
 * FILE, and --debug-dir accepts it.
 *
 * Files and directories are created 0600/0700 with O_EXCL|O_NOFOLLOW; an
 * existing archive directory is refused unless force is set (then files in
 * it are replaced).  It prints what it put in and how big it is.
 */
#ifndef SOCKREC_ARCHIVE_H
#define SOCKREC_ARCHIVE_H

/* The `sockrec archive` command: argv[0] is "archive".  Returns the exit
 * status (0 done, 1 failed, 2 usage). */
int archive_main(int argc, char **argv);

#endif
