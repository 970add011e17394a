/* archive.c - `sockrec archive`: binaries and debug files by build-id (see
 * archive.h). */
#include "archive.h"
#include "buildid.h"
#include "outfile.h"
#include "srec_error.h"
#include "srec_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <getopt.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SYSTEM_DEBUG_DIR "/usr/lib/debug"

struct amod {
	uint64_t path;          /* STRING id */
	uint8_t bid[BUILDID_MAX];
	size_t bid_len;
	int hit;                /* a user stack frame is in it */
};

struct tables {
	char **str;             /* by STRING id */
	size_t nstr;
	struct amod *mods;      /* by MODULE id */
	size_t nmods;
};

static void tables_free(struct tables *t)
{
	for (size_t i = 0; i < t->nstr; i++)
		free(t->str[i]);
	free(t->str);
	free(t->mods);
}

/* Makes index id valid in an array of elsz-byte elements (zeroed). */
static int fit(void **arr, size_t *n, uint64_t id, size_t elsz)
{
	if (id < *n)
		return 0;
	if (id > (1u << 24))
		return -1; /* far beyond any real recording: a damaged id */
	size_t nn = *n ? *n : 64;
	while (nn <= id)
		nn *= 2;
	char *na = realloc(*arr, nn * elsz);
	if (!na)
		return -1;
	memset(na + *n * elsz, 0, (nn - *n) * elsz);
	*arr = na;
	*n = nn;
	return 0;
}

/* STRING, MODULE and user STACK records of the file.  0, or 1 after a
 * one-line message. */
static int read_tables(const char *file, struct tables *t)
{
	struct srec_reader *r;
	const struct srec_record *rec;
	int err = srec_reader_open(&r, file);
	if (err) {
		fprintf(stderr, "sockrec archive: %s: %s\n", file, srec_strerror(err));
		return 1;
	}
	int rc = 0;
	while (!rc && srec_reader_next(r, &rec) == 1) {
		if (rec->type == SREC_R_STRING) {
			uint64_t id = rec->u.string.id;
			if (fit((void **)&t->str, &t->nstr, id, sizeof(*t->str)) ||
			    !(t->str[id] = realloc(t->str[id], rec->u.string.str.len + 1u))) {
				rc = 1;
				break;
			}
			memcpy(t->str[id], rec->u.string.str.p, rec->u.string.str.len);
			t->str[id][rec->u.string.str.len] = '\0';
		} else if (rec->type == SREC_R_MODULE) {
			uint64_t id = rec->u.module.id;
			if (fit((void **)&t->mods, &t->nmods, id, sizeof(*t->mods))) {
				rc = 1;
				break;
			}
			t->mods[id].path = rec->u.module.path;
			t->mods[id].bid_len = rec->u.module.build_id.len > BUILDID_MAX ?
						      0 : rec->u.module.build_id.len;
			memcpy(t->mods[id].bid, rec->u.module.build_id.p, t->mods[id].bid_len);
		} else if (rec->type == SREC_R_STACK && rec->u.stack.kind == SREC_STACK_USER) {
			for (uint32_t i = 0; i < rec->u.stack.nframes; i++) {
				uint64_t m = rec->u.stack.modules[i];
				if (m && m < t->nmods)
					t->mods[m].hit = 1;
			}
		}
	}
	const struct srec_read_status *st = srec_reader_status(r);
	if (rc)
		fprintf(stderr, "sockrec archive: %s: out of memory, or an id far too large\n", file);
	else if (st->salvaged)
		fprintf(stderr, "sockrec archive: WARNING: %s is damaged (%s); modules named only in "
				"the lost blocks are not archived\n", file, srec_strerror(st->first_error));
	srec_reader_close(r);
	return rc;
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

/* Copies the open file src to name in dir (created 0600, O_EXCL; with
 * force an existing file is replaced).  Bytes copied, or -1 with errno. */
static off_t copy_to(int src, int dir, const char *name, int force)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && force && unlinkat(dir, name, 0) == 0)
		fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	off_t total = 0, in_off = 0;
	int e = 0;
	for (;;) {
		ssize_t n = copy_file_range(src, &in_off, fd, NULL, 1 << 30, 0);
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
			      errno == EOPNOTSUPP)) {
			/* another file system or kernel: plain read/write */
			char buf[1 << 16];
			while ((n = pread(src, buf, sizeof(buf), in_off)) > 0) {
				if (write(fd, buf, (size_t)n) != n) {
					n = -1;
					break;
				}
				in_off += n;
				total += n;
			}
		} else if (n > 0) {
			total += n;
			continue;
		}
		if (n < 0)
			e = errno;
		break;
	}
	if (close(fd) != 0 && !e)
		e = errno;
	if (e) {
		unlinkat(dir, name, 0);
		errno = e;
		return -1;
	}
	return total;
}

/* The file at path if it is a regular file with build-id bid: its fd, or
 * -1 with *why set. */
static int open_matching(const char *path, const uint8_t *bid, size_t len, const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat sb;
	if (fd < 0) {
		*why = errno == ENOENT ? "not on this host" : strerror(errno);
		return -1;
	}
	uint8_t got[BUILDID_MAX];
	int n = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? buildid_read_fd(fd, got) : -1;
	if (n < 0)
		*why = "not a readable regular file";
	else if (n == 0)
		*why = "the file has no build-id";
	else if ((size_t)n != len || memcmp(got, bid, len))
		*why = "the file has another build-id (rebuilt or upgraded since the recording?)";
	if (n <= 0 || (size_t)n != len || memcmp(got, bid, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The .gnu_debuglink name and CRC of the ELF file open at fd. */
static int debuglink(int fd, char *name, size_t cap, uint32_t *crc)
{
	int found = 0;
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t shstrndx;
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx) != 0)
		goto out;
	for (Elf_Scn *s = NULL; (s = elf_nextscn(e, s));) {
		GElf_Shdr sh;
		const char *nm;
		if (!gelf_getshdr(s, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(nm = elf_strptr(e, shstrndx, sh.sh_name)) || strcmp(nm, ".gnu_debuglink"))
			continue;
		Elf_Data *d = elf_getdata(s, NULL); /* converts the CRC word to host order */
		if (!d || !d->d_buf)
			break;
		size_t n = strnlen(d->d_buf, d->d_size);
		size_t crcoff = (n + 4) & ~(size_t)3;
		if (n == 0 || n >= cap || crcoff + 4 > d->d_size || memchr(d->d_buf, '/', n))
			break;
		memcpy(name, d->d_buf, n + 1);
		memcpy(crc, (const char *)d->d_buf + crcoff, 4);
		found = 1;
		break;
	}
out:
	if (e)
		elf_end(e);
	return found;
}

static int crc_matches(int fd, uint32_t want)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	char buf[1 << 16];
	ssize_t n;
	off_t off = 0;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		crc = crc32(crc, (const Bytef *)buf, (uInt)n);
		off += n;
	}
	return n == 0 && (uint32_t)crc == want;
}

/* The separate debug file of module m: by build-id, else through the
 * binary's .gnu_debuglink (binfd, may be -1).  fd or -1; *from says where. */
static int find_debug(const char *path, const char *hex, const struct amod *m, int binfd,
		      char *from, size_t fromsz)
{
	const char *why;
	snprintf(from, fromsz, "%s/.build-id/%.2s/%s.debug", SYSTEM_DEBUG_DIR, hex, hex + 2);
	int fd = open_matching(from, m->bid, m->bid_len, &why);
	if (fd >= 0 || binfd < 0)
		return fd;
	char name[256], dir[PATH_MAX];
	uint32_t crc;
	if (!debuglink(binfd, name, sizeof(name), &crc))
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	char *sl = strrchr(dir, '/');
	if (!sl)
		return -1;
	*sl = '\0';
	/* where gdb looks: beside the binary, in .debug/ there, under /usr/lib/debug */
	static const char *const pre[] = { "", "", SYSTEM_DEBUG_DIR };
	static const char *const mid[] = { "/", "/.debug/", "/" };
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		if (snprintf(from, fromsz, "%s%s%s%s", pre[i], dir, mid[i], name) >= (int)fromsz)
			continue;
		fd = open(from, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		struct stat sb;
		if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && crc_matches(fd, crc))
			return fd;
		if (fd >= 0)
			close(fd);
	}
	return -1;
}

static void human(char *buf, size_t cap, uint64_t n)
{
	if (n >= 10u << 20)
		snprintf(buf, cap, "%.1f MB", n / 1048576.0);
	else if (n >= 10u << 10)
		snprintf(buf, cap, "%.1f KB", n / 1024.0);
	else
		snprintf(buf, cap, "%" PRIu64 " B", n);
}

/* Copies src to name in dir (shown as dst) and appends "WHAT SIZE (from
 * FROM)" to line.  0, or 1 after a message. */
static int put(int src, int dir, const char *name, const char *dst, int force, const char *what,
	       const char *from, char *line, size_t cap, uint64_t *total)
{
	off_t n = copy_to(src, dir, name, force);
	if (n < 0) {
		fprintf(stderr, "sockrec archive: %s: %s\n", dst, strerror(errno));
		return 1;
	}
	char sz[32];
	human(sz, sizeof(sz), (uint64_t)n);
	size_t l = strlen(line);
	snprintf(line + l, cap - l, "%s%s %s%s%s%s", l ? ", " : "", what, sz, from ? " (from " : "",
		 from ? from : "", from ? ")" : "");
	*total += (uint64_t)n;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: sockrec archive [-f] [-o DIR] FILE\n"
"Copy into DIR (default FILE.archive) the binaries and debug files this host\n"
"has for every module that a user stack of FILE hits, keyed by build-id and\n"
"checked against the recorded build-ids.  Copy FILE and DIR to another\n"
"machine: sockreport uses FILE.archive when it sits beside FILE, and\n"
"--debug-dir DIR accepts it.\n"
"\n"
"  -o, --output DIR  the archive directory (default FILE.archive)\n"
"  -f, --force       add to an existing archive directory, replacing its files\n"
"  -h, --help        this help\n");
}

int archive_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *outdir = NULL;
	int force = 0, opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "o:fh", lo, NULL)) != -1) {
		switch (opt) {
		case 'o': outdir = optarg; break;
		case 'f': force = 1; break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "sockrec archive: invalid option '%s' or missing argument "
					"(try 'sockrec archive --help')\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "sockrec archive: give exactly one recording "
				"(try 'sockrec archive --help')\n");
		return 2;
	}
	const char *file = argv[optind];
	char defdir[PATH_MAX];
	if (!outdir) {
		if (snprintf(defdir, sizeof(defdir), "%s.archive", file) >= (int)sizeof(defdir)) {
			fprintf(stderr, "sockrec archive: %s: name too long\n", file);
			return 2;
		}
		outdir = defdir;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		fprintf(stderr, "sockrec archive: libelf: %s\n", elf_errmsg(-1));
		return 1;
	}
	struct tables t = { 0 };
	if (read_tables(file, &t)) {
		tables_free(&t);
		return 1;
	}
	size_t nhit = 0;
	for (size_t i = 1; i < t.nmods; i++)
		nhit += t.mods[i].hit;
	if (!nhit) {
		fprintf(stderr, "sockrec archive: no user stack of %s hits a module: nothing to "
				"archive\n", file);
		tables_free(&t);
		return 1;
	}
	if (mkdir(outdir, 0700) != 0) {
		struct stat sb;
		if (errno != EEXIST || !force || lstat(outdir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			fprintf(stderr, "sockrec archive: %s: %s\n", outdir,
				errno == EEXIST ? "exists (use --force to add to it)" : strerror(errno));
			tables_free(&t);
			return 1;
		}
	}
	/* everything below outdir through fds opened O_NOFOLLOW; the path
	 * above it is the user's to name, symlinks included (/var/run, a
	 * symlinked home) */
	int outfd = open(outdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int bidfd = outfd < 0 ? -1 : outfile_subdir(outfd, ".build-id");
	if (bidfd < 0) {
		fprintf(stderr, "sockrec archive: %s/.build-id: %s\n", outdir, strerror(errno));
		if (outfd >= 0)
			close(outfd);
		tables_free(&t);
		return 1;
	}
	printf("sockrec archive: %s -> %s/\n", file, outdir);
	uint64_t total = 0;
	size_t nbin = 0, ndbg = 0, nmissing = 0;
	int rc = 0;
	for (size_t i = 1; i < t.nmods && !rc; i++) {
		struct amod *m = &t.mods[i];
		if (!m->hit)
			continue;
		const char *path = m->path < t.nstr && t.str[m->path] ? t.str[m->path] : "";
		if (path[0] != '/') {
			continue; /* [vdso], anonymous memory: no file to archive */
		}
		if (m->bid_len < 2) {
			printf("  %-40s skipped: no build-id was recorded\n", path);
			nmissing++;
			continue;
		}
		/* dst: dir + '/' + the build-id's rest + ".debug" always fits */
		char hex[2 * BUILDID_MAX + 1], dir[PATH_MAX], dst[PATH_MAX + 2 * BUILDID_MAX + 8];
		char from[PATH_MAX], name[2 * BUILDID_MAX + 8];
		char line[PATH_MAX + 128] = "";
		hex_of(m->bid, m->bid_len, hex);
		char sub[3] = { hex[0], hex[1], 0 };
		int dirfd = -1;
		if (snprintf(dir, sizeof(dir), "%s/.build-id/%s", outdir, sub) >= (int)sizeof(dir))
			errno = ENAMETOOLONG;
		else
			dirfd = outfile_subdir(bidfd, sub);
		if (dirfd < 0) {
			fprintf(stderr, "sockrec archive: %s: %s\n", dir, strerror(errno));
			rc = 1;
			break;
		}
		const char *why = NULL;
		int binfd = open_matching(path, m->bid, m->bid_len, &why);
		if (binfd >= 0) {
			snprintf(name, sizeof(name), "%s", hex + 2);
			snprintf(dst, sizeof(dst), "%s/%s", dir, name);
			rc = put(binfd, dirfd, name, dst, force, "binary", NULL, line, sizeof(line),
				 &total);
			nbin += !rc;
		}
		int dbgfd = rc ? -1 : find_debug(path, hex, m, binfd, from, sizeof(from));
		if (dbgfd >= 0) {
			snprintf(name, sizeof(name), "%s.debug", hex + 2);
			snprintf(dst, sizeof(dst), "%s/%s", dir, name);
			rc = put(dbgfd, dirfd, name, dst, force, "debug file", from, line, sizeof(line),
				 &total);
			ndbg += !rc;
			close(dbgfd);
		}
		if (binfd >= 0)
			close(binfd);
		close(dirfd);
		if (!line[0]) {
			printf("  %-40s NOT archived: %s, and no debug file\n", path, why);
			nmissing++;
		} else {
			printf("  %-40s %s\n", path, line);
		}
	}
	close(bidfd);
	close(outfd);
	tables_free(&t);
	if (rc)
		return 1;
	char sz[32];
	human(sz, sizeof(sz), total);
	printf("sockrec archive: %zu binaries, %zu debug files, %s in %s/", nbin, ndbg, sz, outdir);
	if (nmissing)
		printf("; %zu modules NOT archived (their frames stay unnamed elsewhere)", nmissing);
	printf("\nCopy %s and %s/ together: sockreport uses the archive beside the recording.\n",
	       file, outdir);
	return 0;
}
