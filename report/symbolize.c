/* symbolize.c - the stack symbolizer (symbolize.h): user frames by module
 * (ELF symbols, DWARF lines and inlined functions, embedded SYMBOL
 * records) and kernel frames (a --vmlinux's DWARF).  This file: the public
 * API, module resolution, opening files, logging; the rest is split by
 * concern (symbolize_int.h). */
#include "symbolize_int.h"

/* ------------------------------------------------------------------ */
/* small helpers                                                       */



static char *arena_alloc(struct arena *a, size_t n)
{
	const size_t dflt = 64 * 1024 - sizeof(struct chunk);
	if (!a->head || a->head->cap - a->head->used < n) {
		size_t cap = n > dflt ? n : dflt;
		struct chunk *ch = malloc(sizeof(*ch) + cap);
		if (!ch)
			return NULL;
		ch->used = 0;
		ch->cap = cap;
		if (a->head && n > dflt) {
			/* oversized: keep the current chunk's free room in use */
			ch->next = a->head->next;
			a->head->next = ch;
			ch->used = n;
			return ch->data;
		}
		ch->next = a->head;
		a->head = ch;
	}
	char *p = a->head->data + a->head->used;
	a->head->used += n;
	return p;
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

static void arena_free(struct arena *a)
{
	struct chunk *ch = a->head;
	while (ch) {
		struct chunk *next = ch->next;
		free(ch);
		ch = next;
	}
	a->head = NULL;
}

/* Makes room for need elements; returns the (possibly moved) array or NULL
 * on ENOMEM, leaving p and *cap untouched then.  need must be >= 1. */
void *grow(void *p, size_t *cap, size_t need, size_t elsz)
{
	if (need <= *cap)
		return p;
	size_t nc = *cap ? *cap : 16;
	while (nc < need) {
		if (nc > SIZE_MAX / 2)
			return NULL;
		nc *= 2;
	}
	if (nc > SIZE_MAX / elsz)
		return NULL;
	void *np = realloc(p, nc * elsz);
	if (!np)
		return NULL;
	*cap = nc;
	return np;
}

void hex_of(const uint8_t *b, size_t n, char *out, size_t outsz)
{
	static const char digits[] = "0123456789abcdef";
	size_t j = 0;
	for (size_t i = 0; i < n && j + 2 < outsz; i++) {
		out[j++] = digits[b[i] >> 4];
		out[j++] = digits[b[i] & 15];
	}
	if (outsz)
		out[j < outsz ? j : outsz - 1] = '\0';
}

static uint64_t hash_key(const uint8_t *bid, size_t len, const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= bid[i];
		h *= 0x100000001b3ull;
	}
	h ^= 0xff;
	h *= 0x100000001b3ull;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 31);
}

/* ------------------------------------------------------------------ */
/* logging, names                                                      */

__attribute__((format(printf, 2, 3)))
void vlog(const struct sym_ctx *c, const char *fmt, ...)
{
	if (!c->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("sym: ", c->verbose);
	vfprintf(c->verbose, fmt, ap);
	fputc('\n', c->verbose);
	va_end(ap);
}

/* Demangled copy of name in the arena, or name itself; NULL on ENOMEM. */
const char *shown_name(struct sym_ctx *c, const char *name)
{
	if (!c->demangle || strncmp(name, "_Z", 2) != 0)
		return name;
	size_t len = strcspn(name, "@"); /* keep "@plt", "@@VERSION" */
	if (len >= DEMANGLE_MAX)
		return name;
	char buf[DEMANGLE_MAX];
	memcpy(buf, name, len);
	buf[len] = '\0';
	int st = -1;
	char *d = __cxa_demangle(buf, NULL, NULL, &st);
	if (!d || st != 0) {
		free(d);
		return name;
	}
	size_t dl = strlen(d), sl = strlen(name + len);
	char *out = arena_alloc(&c->str, dl + sl + 1);
	if (out) {
		memcpy(out, d, dl); // NOLINT(bugprone-not-null-terminated-result): the next copy brings the NUL
		memcpy(out + dl, name + len, sl + 1);
	}
	free(d);
	return out;
}

const char *sym_status_str(enum sym_status s)
{
	switch (s) {
	case SYM_OK: return "OK";
	case SYM_NO_SYMBOL: return "NO_SYMBOL";
	case SYM_NOT_FOUND: return "NOT_FOUND";
	case SYM_BUILDID_MISMATCH: return "BUILDID_MISMATCH";
	case SYM_BAD_FILE: return "BAD_FILE";
	}
	return "UNKNOWN";
}

void sym_opts_init(struct sym_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->use_system_debug = 1;
	o->use_recorded_path = 1;
	o->demangle = 1;
	o->use_debuginfod = 1;
}

/* ------------------------------------------------------------------ */
/* opening files                                                       */


/* 1 if path has a "." or ".." component. */
static int has_dot_component(const char *path)
{
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 1;
		p += n;
	}
	return 0;
}

static int path_under(const char *p, const char *root)
{
	size_t n = strlen(root);
	if (n == 1 && root[0] == '/')
		return p[0] == '/';
	return strncmp(p, root, n) == 0 && (p[n] == '/' || p[n] == '\0');
}

/* Opens path as an ELF file (mmapped, no descriptor kept).  With root
 * (a resolved directory) the file must resolve to a path under it.
 * *why gets a short reason when the result is not OPEN_OK; *real, when not
 * NULL, gets a malloc'd resolved path (NULL if it could not be resolved).
 * Returns an enum open_res or -ENOMEM. */
int open_elf(const char *path, const char *root, Elf **out,
		    char **real, char *why, size_t whysz)
{
	*out = NULL;
	if (real)
		*real = NULL;
	why[0] = '\0';
	const char *opath = path;
	char *rp = NULL;
	int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;

	if (root) {
		if (has_dot_component(path)) {
			snprintf(why, whysz, "refused: path has a '.' or '..' component");
			return OPEN_REFUSED;
		}
		rp = realpath(path, NULL);
		if (!rp) {
			if (errno == ENOMEM)
				return -ENOMEM;
			snprintf(why, whysz, "%s", strerror(errno));
			return OPEN_MISSING;
		}
		if (!path_under(rp, root)) {
			snprintf(why, whysz, "refused: resolves to %s, outside the sysroot", rp);
			free(rp);
			return OPEN_REFUSED;
		}
		opath = rp;
		flags |= O_NOFOLLOW;
	}
	int fd = open(opath, flags);
	if (fd < 0) {
		int e = errno;
		snprintf(why, whysz, "%s", strerror(e));
		free(rp);
		if (e == ENOMEM)
			return -ENOMEM;
		return (e == ENOENT || e == ENOTDIR) ? OPEN_MISSING : OPEN_BAD;
	}
	if (root) {
		/* the tree may have changed between realpath() and open() */
		char link[64], got[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, got, sizeof(got) - 1);
		if (n > 0) {
			got[n] = '\0';
			if (!path_under(got, root)) {
				snprintf(why, whysz, "refused: opened file is %s, outside the sysroot", got);
				close(fd);
				free(rp);
				return OPEN_REFUSED;
			}
		}
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whysz, "not a regular file");
		close(fd);
		free(rp);
		return OPEN_BAD;
	}
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e) {
		snprintf(why, whysz, "libelf: %s", elf_errmsg(-1));
		close(fd);
		free(rp);
		return OPEN_BAD;
	}
	if (elf_kind(e) != ELF_K_ELF) {
		snprintf(why, whysz, "not an ELF file");
		elf_end(e);
		close(fd);
		free(rp);
		return OPEN_BAD;
	}
	/* everything is read through the mapping from now on */
	if (elf_cntl(e, ELF_C_FDDONE) != 0) {
		snprintf(why, whysz, "libelf: %s", elf_errmsg(-1));
		elf_end(e);
		close(fd);
		free(rp);
		return OPEN_BAD;
	}
	close(fd);
	if (real) {
		if (!rp)
			rp = realpath(opath, NULL); /* NULL is tolerated */
		*real = rp;
		rp = NULL;
	}
	free(rp);
	*out = e;
	return OPEN_OK;
}

/* ------------------------------------------------------------------ */
/* module resolution                                                   */

/* CRC-32 (zlib's, as gdb computes it for .gnu_debuglink) of the whole
 * file, from the mapping that is then used: no second open. */
static int image_crc(Elf *e, uint32_t *out)
{
	size_t size = 0;
	const char *img = elf_rawfile(e, &size);
	if (!img)
		return -1;
	uLong crc = crc32(0L, Z_NULL, 0);
	while (size) {
		uInt n = size > (1u << 30) ? (1u << 30) : (uInt)size;
		crc = crc32(crc, (const Bytef *)img, n);
		img += n;
		size -= n;
	}
	*out = (uint32_t)crc;
	return 0;
}

struct probe {
	struct efile acc[MAX_ACCEPTED];
	size_t nacc;
	int saw_mismatch, saw_bad;
};

static int have_enough(const struct probe *p)
{
	int syms = 0, ph = 0;
	for (size_t i = 0; i < p->nacc; i++) {
		if (p->acc[i].has_symtab || p->acc[i].has_dwarf)
			syms = 1;
		if (!p->acc[i].debug_only)
			ph = 1;
	}
	return syms && ph;
}

void describe(const struct efile *f, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s%s%s%s%s", f->has_symtab ? " .symtab" : "",
		 f->has_dynsym ? " .dynsym" : "", f->has_dwarf ? " DWARF" : "",
		 f->debug_only ? " (separate debug file)" : "",
		 f->has_debuglink ? " .gnu_debuglink" : "");
}

/* Tries one candidate; accepted files go to p->acc.  kind: 0 needs the
 * build-id, 1 recorded path (unverified when the build-id is empty),
 * 2 debuglink target (CRC checked by the caller).  0 or -ENOMEM. */
static int try_candidate(struct sym_ctx *c, const struct module *m, struct probe *p,
			 const char *path, const char *root, int kind, uint32_t want_crc,
			 const char *src)
{
	if (p->nacc >= MAX_ACCEPTED)
		return 0;
	struct efile *f = &p->acc[p->nacc];
	memset(f, 0, sizeof(*f));
	if (snprintf(f->path, sizeof(f->path), "%s", path) >= (int)sizeof(f->path)) {
		vlog(c, "  %s: path too long", path);
		return 0;
	}
	char why[PATH_MAX + 64];
	int r = open_elf(path, root, &f->elf, &f->real, why, sizeof(why));
	if (r < 0)
		return r;
	if (r == OPEN_MISSING) {
		vlog(c, "  %s: not found (%s)", path, why);
		return 0;
	}
	if (r != OPEN_OK) {
		vlog(c, "  %s: rejected: %s", path, why);
		if (r == OPEN_BAD)
			p->saw_bad = 1;
		return 0;
	}
	f->confined = root != NULL;
	f->src = src;
	inspect(f);
	char have[2 * MAX_BID + 1], want[2 * MAX_BID + 1], what[128];
	hex_of(f->bid, f->bid_len, have, sizeof(have));
	hex_of(m->bid, m->bid_len, want, sizeof(want));
	describe(f, what, sizeof(what));
	if (kind == 2) {
		uint32_t crc = 0;
		if (image_crc(f->elf, &crc) != 0 || crc != want_crc) {
			vlog(c, "  %s: rejected: CRC 0x%08x, .gnu_debuglink wants 0x%08x", path,
			     (unsigned)crc, (unsigned)want_crc);
			p->saw_mismatch = 1;
			efile_close(f);
			return 0;
		}
		if (m->bid_len && f->bid_len &&
		    (f->bid_len != m->bid_len || memcmp(f->bid, m->bid, m->bid_len))) {
			vlog(c, "  %s: rejected: build-id %s, recorded %s", path, have, want);
			p->saw_mismatch = 1;
			efile_close(f);
			return 0;
		}
		vlog(c, "  %s: accepted: CRC matches .gnu_debuglink;%s", path, what);
	} else if (m->bid_len == 0) {
		vlog(c, "  %s: accepted WITHOUT verification: no build-id was recorded "
		     "(file's is %s);%s", path, f->bid_len ? have : "absent", what);
	} else if (f->bid_len == 0) {
		vlog(c, "  %s: rejected: file has no build-id note, recorded %s", path, want);
		p->saw_mismatch = 1;
		efile_close(f);
		return 0;
	} else if (f->bid_len != m->bid_len || memcmp(f->bid, m->bid, m->bid_len)) {
		vlog(c, "  %s: rejected: build-id mismatch: file %s, recorded %s", path, have, want);
		p->saw_mismatch = 1;
		efile_close(f);
		return 0;
	} else {
		vlog(c, "  %s: accepted: build-id matches;%s", path, what);
	}
	p->nacc++;
	return 0;
}

static int join(char *out, size_t sz, const char *a, const char *b, const char *c3)
{
	int n = snprintf(out, sz, "%s%s%s", a, b, c3 ? c3 : "");
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

/* The .gnu_debuglink file of accepted file idx. */
static int follow_debuglink(struct sym_ctx *c, const struct module *m, struct probe *p,
			    size_t idx)
{
	const struct efile *f = &p->acc[idx];
	char name[256], dir[PATH_MAX], rdir[PATH_MAX], path[PATH_MAX];
	snprintf(name, sizeof(name), "%s", f->debuglink);
	uint32_t crc = f->debuglink_crc;
	const char *root = f->confined ? c->sysroot_real : NULL;
	if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		vlog(c, "  .gnu_debuglink \"%s\" refused: not a plain file name", name);
		return 0;
	}
	vlog(c, "  %s has no .symtab; following .gnu_debuglink \"%s\" (CRC 0x%08x)", f->path,
	     name, (unsigned)crc);
	snprintf(dir, sizeof(dir), "%s", f->real ? f->real : f->path);
	char *sl = strrchr(dir, '/');
	if (sl)
		sl[sl == dir ? 1 : 0] = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	snprintf(rdir, sizeof(rdir), "%s", m->path);
	sl = strrchr(rdir, '/');
	if (sl)
		*sl = '\0';
	/* the recorded directory is joined to debug dirs: never let it climb */
	if (!sl || rdir[0] != '/' || has_dot_component(rdir))
		rdir[0] = '\0';
	const char *sep = strcmp(dir, "/") == 0 ? "" : "/";

	size_t before = p->nacc;
	int rc = 0;
	char mid[PATH_MAX];
	if (!rc && join(mid, sizeof(mid), dir, sep, "") == 0 &&
	    join(path, sizeof(path), mid, name, NULL) == 0)
		rc = try_candidate(c, m, p, path, root, 2, crc, ".gnu_debuglink");
	if (!rc && p->nacc == before && join(mid, sizeof(mid), dir, sep, ".debug/") == 0 &&
	    join(path, sizeof(path), mid, name, NULL) == 0)
		rc = try_candidate(c, m, p, path, root, 2, crc, ".gnu_debuglink");
	for (size_t i = 0; !rc && p->nacc == before && i < c->ndebug_dirs; i++) {
		if (join(path, sizeof(path), c->debug_dirs[i], "/", name) == 0)
			rc = try_candidate(c, m, p, path, NULL, 2, crc, ".gnu_debuglink");
		if (!rc && p->nacc == before && rdir[0] &&
		    join(mid, sizeof(mid), c->debug_dirs[i], rdir, "/") == 0 &&
		    join(path, sizeof(path), mid, name, NULL) == 0)
			rc = try_candidate(c, m, p, path, NULL, 2, crc, ".gnu_debuglink");
	}
	if (!rc && p->nacc == before && c->use_system_debug && rdir[0] &&
	    join(mid, sizeof(mid), SYSTEM_DEBUG_DIR, rdir, "/") == 0 &&
	    join(path, sizeof(path), mid, name, NULL) == 0)
		rc = try_candidate(c, m, p, path, NULL, 2, crc, ".gnu_debuglink");
	if (!rc && p->nacc == before)
		vlog(c, "  .gnu_debuglink \"%s\": no matching file", name);
	return rc;
}

/* What the files found so far lack, from debuginfod: the debug info when
 * there is no .symtab and no DWARF, the executable when there are no
 * original program headers (the binary is not on this machine).  0 or
 * -ENOMEM. */
static int ask_debuginfod(struct sym_ctx *c, const struct module *m, struct probe *p)
{
	if (!c->dbgd || m->bid_len < 2)
		return 0;
	for (enum dbgd_kind k = DBGD_DEBUGINFO; k <= DBGD_EXECUTABLE && !have_enough(p); k++) {
		int syms = 0, ph = 0;
		for (size_t i = 0; i < p->nacc; i++) {
			syms |= p->acc[i].has_symtab || p->acc[i].has_dwarf;
			ph |= !p->acc[i].debug_only;
		}
		if (k == DBGD_DEBUGINFO ? syms : ph)
			continue;
		char *path = NULL, why[256];
		int r = dbgd_find(c->dbgd, k, m->bid, m->bid_len, m->display, &path, why, sizeof(why));
		if (r < 0)
			return r;
		if (r > 0) {
			vlog(c, "  debuginfod %s: %s", k == DBGD_DEBUGINFO ? "debug info" : "executable",
			     why);
			if (r == DBGD_OFF)
				break; /* the executable would get the same answer */
			continue;
		}
		r = try_candidate(c, m, p, path, NULL, 0, 0, "debuginfod");
		free(path);
		if (r)
			return r;
	}
	return 0;
}

static int probe_all(struct sym_ctx *c, const struct module *m, struct probe *p)
{
	char path[PATH_MAX];
	char hex[2 * MAX_BID + 1];
	int rc = 0;
	size_t done_links = 0;

	hex_of(m->bid, m->bid_len, hex, sizeof(hex));
	/* steps 1 and 2: build-id trees */
	if (m->bid_len >= 2) {
		const char *rest = hex + 2;
		char sub[2 * MAX_BID + 32];
		snprintf(sub, sizeof(sub), "/.build-id/%.2s/%s", hex, rest);
		for (size_t i = 0; i < c->ndebug_dirs && !rc && !have_enough(p); i++) {
			if (join(path, sizeof(path), c->debug_dirs[i], sub, ".debug") == 0)
				rc = try_candidate(c, m, p, path, NULL, 0, 0, "a debug dir");
			if (!rc && !have_enough(p) &&
			    join(path, sizeof(path), c->debug_dirs[i], sub, NULL) == 0)
				rc = try_candidate(c, m, p, path, NULL, 0, 0, "a debug dir");
		}
		if (!rc && !have_enough(p) && c->use_system_debug &&
		    join(path, sizeof(path), SYSTEM_DEBUG_DIR, sub, ".debug") == 0)
			rc = try_candidate(c, m, p, path, NULL, 0, 0, SYSTEM_DEBUG_DIR);
	} else if (c->ndebug_dirs || c->use_system_debug) {
		vlog(c, "  build-id directories skipped: %s", m->bid_len ? "build-id too short" :
		     "no build-id recorded");
	}
	/* steps 3 and 4: the recorded path */
	if (!rc && !have_enough(p)) {
		if (m->path[0] != '/') {
			vlog(c, "  %s: not an absolute path, not opened", m->path);
		} else if (c->sysroot) {
			if (!c->sysroot_real)
				vlog(c, "  sysroot %s does not resolve; %s not tried", c->sysroot, m->path);
			else if (join(path, sizeof(path), c->sysroot_real,
				      strcmp(c->sysroot_real, "/") == 0 ? m->path + 1 : m->path, NULL) == 0)
				rc = try_candidate(c, m, p, path, c->sysroot_real, 1, 0, "the sysroot");
			if (c->use_recorded_path)
				vlog(c, "  %s: not tried on this machine (a sysroot is set)", m->path);
		} else if (c->use_recorded_path) {
			rc = try_candidate(c, m, p, m->path, NULL, 1, 0, "the recorded path");
		}
	}
	/* .gnu_debuglink of accepted files without a symbol table */
	for (size_t i = 0; !rc && i < p->nacc && done_links < 4; i++) {
		int syms = 0;
		for (size_t j = 0; j < p->nacc; j++)
			syms |= p->acc[j].has_symtab;
		if (syms)
			break;
		if (p->acc[i].has_debuglink && !p->acc[i].has_symtab) {
			done_links++;
			rc = follow_debuglink(c, m, p, i);
		}
	}
	if (!rc && !have_enough(p))
		rc = ask_debuginfod(c, m, p);
	return rc;
}

static int load_module(struct sym_ctx *c, struct module *m)
{
	struct probe *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	char hex[2 * MAX_BID + 1];
	hex_of(m->bid, m->bid_len, hex, sizeof(hex));
	vlog(c, "module %s build-id %s", m->path, m->bid_len ? hex : "(none)");
	int rc = probe_all(c, m, p);
	struct efile *symf = NULL, *dynf = NULL, *dwf = NULL, *phf = NULL, *mdf = NULL;
	for (size_t i = 0; i < p->nacc; i++) {
		struct efile *f = &p->acc[i];
		if (!symf && f->has_symtab)
			symf = f;
		if (!mdf && f->has_debugdata)
			mdf = f;
		if (!dynf && f->has_dynsym)
			dynf = f;
		if (!dwf && f->has_dwarf)
			dwf = f;
		if (!phf && !f->debug_only)
			phf = f;
	}
	int rebuild = 0;
	if (!phf && p->nacc) {
		phf = symf ? symf : dwf ? dwf : &p->acc[0];
		rebuild = 1;
	}
	if (rc == 0 && !p->nacc) {
		m->status = p->saw_mismatch ? SYM_BUILDID_MISMATCH :
			    p->saw_bad ? SYM_BAD_FILE : SYM_NOT_FOUND;
		vlog(c, "  no usable file: %s", sym_status_str(m->status));
		vlog(c, "symbols for %s: from no file (%s)", m->display, sym_status_str(m->status));
	}
	if (rc == 0 && p->nacc) {
		m->status = SYM_OK;
		struct efile *u = dwf ? dwf : symf ? symf : dynf ? dynf : phf;
		m->used_path = arena_strdup(&c->str, u->path);
		if (!m->used_path)
			rc = -ENOMEM;
		if (rc == 0 && rebuild)
			vlog(c, "  program headers: original binary not available, rebuilding "
			     "the file layout from %s (a guess, see symbolize.h)", phf->path);
		else if (rc == 0)
			vlog(c, "  program headers from %s", phf->path);
		if (rc == 0)
			rc = read_loads(c, m, phf->elf, rebuild);
		struct rawsym *rv = NULL;
		size_t rn = 0, rcap = 0;
		Elf *mini = NULL;
		void *minibuf = NULL;
		int used_mini = 0; /* its symbols are in (mini itself is freed below) */
		if (rc == 0 && symf)
			rc = collect_syms(symf->elf, SHT_SYMTAB, &rv, &rn, &rcap);
		if (rc == 0 && !symf && mdf) {
			/* MiniDebugInfo: the functions .dynsym lacks, for want of a
			 * real .symtab (its names are then read before it is freed) */
			char why[128];
			int r = mdi_open(mdf->elf, &mini, &minibuf, why, sizeof(why));
			if (r < 0)
				rc = r;
			else if (r > 0)
				vlog(c, "  %s: .gnu_debugdata unusable: %s", mdf->path, why);
			else
				rc = collect_syms(mini, SHT_SYMTAB, &rv, &rn, &rcap);
			used_mini = mini != NULL;
		}
		if (rc == 0 && dynf)
			rc = collect_syms(dynf->elf, SHT_DYNSYM, &rv, &rn, &rcap);
		if (rc == 0)
			rc = build_syms(c, m, rv, rn);
		free(rv);
		if (mini)
			elf_end(mini);
		free(minibuf);
		if (rc == 0)
			vlog(c, "  %zu function symbols (.symtab from %s%s, .dynsym from %s)", m->nsyms,
			     symf ? symf->path : used_mini ? mdf->path : "-",
			     used_mini ? " .gnu_debugdata" : "", dynf ? dynf->path : "-");
		if (rc == 0) {
			/* the -v summary: one line per module, where its names come from */
			const struct efile *best = dwf ? dwf : symf ? symf : used_mini ? mdf : u;
			vlog(c, "symbols for %s: %s from %s: %s%s", m->display,
			     dwf ? "DWARF" : symf ? ".symtab" : used_mini ? "MiniDebugInfo (.gnu_debugdata)" :
			     dynf ? ".dynsym only" : "no symbol table", best->src, best->path,
			     rebuild ? " (layout rebuilt)" : "");
		}
		if (rc == 0 && dwf) {
			vlog(c, "  DWARF from %s", dwf->path);
			Elf *e = dwf->elf;
			dwf->elf = NULL;
			rc = dw_open(c, e, 0, &m->dw);
		}
	}
	for (size_t i = 0; i < p->nacc; i++)
		efile_close(&p->acc[i]);
	free(p);
	return rc;
}

void module_free(struct module *m)
{
	free(m->loads);
	free(m->syms);
	dw_free(m->dw);
	free(m);
}

static int rehash(struct sym_ctx *c)
{
	size_t nb = c->nbuckets ? c->nbuckets * 2 : 64;
	struct module **b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct module *m = c->buckets[i];
		while (m) {
			struct module *next = m->next;
			m->next = b[m->hash & (nb - 1)];
			b[m->hash & (nb - 1)] = m;
			m = next;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
	return 0;
}

static int get_module(struct sym_ctx *c, const char *path, const uint8_t *bid, size_t len,
		      struct module **out)
{
	struct module *m = c->last;
	if (m && m->bid_len == len && (!len || memcmp(m->bid, bid, len) == 0) &&
	    strcmp(m->path, path) == 0) {
		*out = m;
		return 0;
	}
	uint64_t h = hash_key(bid, len, path);
	if (c->nbuckets) {
		for (m = c->buckets[h & (c->nbuckets - 1)]; m; m = m->next) {
			if (m->hash == h && m->bid_len == len &&
			    (!len || memcmp(m->bid, bid, len) == 0) && strcmp(m->path, path) == 0) {
				c->last = m;
				*out = m;
				return 0;
			}
		}
	}
	if (!c->nbuckets || (c->nmodules + 1) * 4 > c->nbuckets * 3) {
		int rc = rehash(c);
		if (rc)
			return rc;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->hash = h;
	m->bid_len = len;
	if (len)
		memcpy(m->bid, bid, len);
	m->path = arena_strdup(&c->str, path);
	if (!m->path) {
		free(m);
		return -ENOMEM;
	}
	const char *base = strrchr(m->path, '/');
	m->display = base && base[1] ? base + 1 : m->path;
	int rc = load_module(c, m);
	if (rc) {
		module_free(m);
		return rc;
	}
	size_t b = h & (c->nbuckets - 1);
	m->next = c->buckets[b];
	c->buckets[b] = m;
	c->nmodules++;
	c->last = m;
	*out = m;
	return 0;
}

/* ------------------------------------------------------------------ */
/* public                                                              */

struct sym_ctx *sym_ctx_new(const struct sym_opts *o)
{
	struct sym_opts dflt;
	if (!o) {
		sym_opts_init(&dflt);
		o = &dflt;
	}
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	struct sym_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->use_system_debug = o->use_system_debug;
	c->use_recorded_path = o->use_recorded_path;
	c->demangle = o->demangle;
	c->verbose = o->verbose;
	if (o->use_debuginfod && !(c->dbgd = dbgd_new(o->verbose)))
		goto fail;
	/* Every file read here is a linked image whose DWARF is final; the
	 * .rela.debug_* sections a kernel keeps from --emit-relocs would only
	 * cost time and memory (libdwarf would copy and patch each section). */
	dwarf_set_reloc_application(0);
	if (o->vmlinux) {
		c->vmlinux = strdup(o->vmlinux);
		if (!c->vmlinux)
			goto fail;
	}
	if (o->ndebug_dirs && o->debug_dirs) {
		c->debug_dirs = calloc(o->ndebug_dirs, sizeof(*c->debug_dirs));
		if (!c->debug_dirs)
			goto fail;
		for (size_t i = 0; i < o->ndebug_dirs; i++) {
			if (!o->debug_dirs[i])
				continue;
			c->debug_dirs[c->ndebug_dirs] = strdup(o->debug_dirs[i]);
			if (!c->debug_dirs[c->ndebug_dirs])
				goto fail;
			c->ndebug_dirs++;
		}
	}
	if (o->sysroot) {
		c->sysroot = strdup(o->sysroot);
		if (!c->sysroot)
			goto fail;
		c->sysroot_real = realpath(o->sysroot, NULL);
		if (!c->sysroot_real && errno == ENOMEM)
			goto fail;
		if (!c->sysroot_real)
			vlog(c, "sysroot %s: %s", o->sysroot, strerror(errno));
	}
	return c;
fail:
	sym_ctx_free(c);
	return NULL;
}

void sym_ctx_free(struct sym_ctx *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct module *m = c->buckets[i];
		while (m) {
			struct module *next = m->next;
			module_free(m);
			m = next;
		}
	}
	free(c->buckets);
	while (c->kernels) {
		struct module *m = c->kernels;
		c->kernels = m->next;
		module_free(m);
	}
	free(c->vmlinux);
	dbgd_free(c->dbgd);
	while (c->embeds) {
		struct embed_tab *t = c->embeds;
		c->embeds = t->next;
		free(t->syms);
		free(t);
	}
	for (size_t i = 0; i < c->ndebug_dirs; i++)
		free(c->debug_dirs[i]);
	free(c->debug_dirs);
	free(c->sysroot);
	free(c->sysroot_real);
	arena_free(&c->str);
	free(c);
}

/* Names ELF virtual address va of usable module m (rva: the recorded
 * address, va + 1 for a return address): out->status becomes SYM_OK with
 * frames, or SYM_NO_SYMBOL.  0 or -ENOMEM. */
int resolve(struct sym_ctx *c, struct module *m, uint64_t va, uint64_t rva,
		   struct sym_result *out)
{
	struct esym *s = find_sym(m, va);
	if (s && !s->shown) {
		s->shown = shown_name(c, s->name);
		if (!s->shown)
			return -ENOMEM;
	}
	struct dwhit h;
	h.n = 0;
	if (m->dw) {
		int rc = dw_lookup(c, m->dw, va, &h);
		if (rc)
			return rc;
	}
	out->status = SYM_NO_SYMBOL;
	if (h.n) {
		struct sym_frame *last = &h.f[h.n - 1];
		if (s) {
			last->func = s->shown;
			last->func_off = rva - s->addr;
		} else if (last->func && h.entry <= rva) {
			last->func_off = rva - h.entry;
		}
		for (unsigned i = 0; i < h.n; i++) {
			out->frames[i] = h.f[i];
			if (!out->frames[i].func)
				out->frames[i].func = "??";
		}
		out->nframes = h.n;
		out->truncated = h.truncated;
		out->status = last->func ? SYM_OK : SYM_NO_SYMBOL;
		if (!last->func)
			out->nframes = 0;
	} else if (s) {
		out->nframes = 1;
		out->frames[0].func = s->shown;
		out->frames[0].func_off = rva - s->addr;
		out->status = SYM_OK;
	}
	return 0;
}

static int lookup(struct sym_ctx *c, const char *path, const uint8_t *build_id,
		  size_t build_id_len, uint64_t file_off, int is_return_addr,
		  struct sym_result *out)
{
	struct module *m = NULL;
	int rc = get_module(c, path, build_id, build_id_len, &m);
	if (rc)
		return rc;
	out->module = m->display;
	out->status = m->status;
	uint64_t q = file_off;
	if (is_return_addr && q > 0)
		q--;

	if (m->status == SYM_OK) {
		out->used_path = m->used_path;
		out->status = SYM_NO_SYMBOL;
		uint64_t va;
		if (off_to_vaddr(m, q, &va) != 0) {
			vlog(c, "%s: file offset 0x%llx is outside every PT_LOAD", m->path,
			     (unsigned long long)q);
		} else {
			rc = resolve(c, m, va, va + (file_off - q), out);
			if (rc)
				return rc;
		}
	}
	if (out->status != SYM_OK) {
		rc = embed_lookup(c, m, q, file_off, out);
		if (rc)
			return rc;
	}
	return 0;
}

int sym_lookup(struct sym_ctx *c, const char *path, const uint8_t *build_id,
	       size_t build_id_len, uint64_t file_off, int is_return_addr,
	       struct sym_result *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->status = SYM_NOT_FOUND;
	out->module = "??";
	if (!c || !path || !*path || build_id_len > MAX_BID || (build_id_len && !build_id))
		return -EINVAL;
	int rc = lookup(c, path, build_id, build_id_len, file_off, is_return_addr, out);
	if (rc) {
		memset(out, 0, sizeof(*out));
		out->status = SYM_NOT_FOUND;
		out->module = "??";
	}
	return rc;
}
