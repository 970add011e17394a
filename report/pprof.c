/* pprof.c - allocation sites as a gzipped profile.proto (see pprof.h). */
#include "pprof.h"
#include "outfile.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "out.h"
#include "profile.pb-c.h"
#include "wallclock.h"
#include "sites.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__ValueType ValueType;

/* A growable array of message pointers (protobuf-c's repeated fields). */
struct vec {
	void **p;
	size_t n, cap;
};

static int vec_push(struct vec *v, void *x)
{
	if (!x)
		return -1;
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 64;
		void **np = realloc(v->p, nc * sizeof(*np));
		if (!np) {
			free(x);
			return -1;
		}
		v->p = np;
		v->cap = nc;
	}
	v->p[v->n++] = x;
	return 0;
}

struct pp {
	struct model *m;
	struct sym_ctx *sym;
	struct vec strings, samples, locations, functions, mappings;
	struct agg str_ix;   /* string -> int64 index + 1 */
	struct agg loc_ix;   /* "mapping/address" -> uint64 id */
	struct agg fn_ix;    /* "name\nfile" -> uint64 id */
	struct agg map_ix;   /* "module id" or "kernel" -> uint64 id */
	int64_t host;        /* string index of the host name */
};

static int64_t str_id(struct pp *P, const char *s)
{
	int64_t *ix = agg_get(&P->str_ix, s ? s : ""); /* index + 1; 0: new */
	if (!ix)
		return -1;
	if (!*ix) {
		if (vec_push(&P->strings, strdup(s ? s : "")))
			return -1;
		*ix = (int64_t)P->strings.n;
	}
	return *ix - 1;
}

static void hexs(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	out[2 * n] = 0;
}

/* The mapping of a user module (modid) or of the kernel (modid 0); 0 on ENOMEM. */
static uint64_t mapping_id(struct pp *P, uint64_t modid, int kernel)
{
	char key[32];
	snprintf(key, sizeof(key), kernel ? "kernel" : "%" PRIu64, modid);
	uint64_t *id = agg_get(&P->map_ix, key);
	if (!id || *id)
		return id ? *id : 0;
	Mapping *mp = malloc(sizeof(*mp));
	if (vec_push(&P->mappings, mp)) /* owned by the vector from here */
		return 0;
	perftools__profiles__mapping__init(mp);
	mp->id = P->mappings.n;
	char bid[129] = "";
	if (kernel) {
		const char *b = model_meta(P->m, "kernel.build_id");
		snprintf(bid, sizeof(bid), "%s", b ? b : "");
		mp->filename = str_id(P, "[kernel.kallsyms]");
	} else {
		const struct mmodule *md = model_module(P->m, modid);
		if (md)
			hexs(bid, md->build_id, md->build_id_len > 64 ? 64 : md->build_id_len);
		mp->filename = str_id(P, md ? model_str(P->m, md->path) : "[unknown]");
	}
	mp->build_id = str_id(P, bid);
	/* addresses are file offsets: the mapping starts at 0 of its file */
	mp->memory_start = 0;
	mp->memory_limit = UINT64_MAX;
	mp->file_offset = 0;
	mp->has_functions = 1;
	if (mp->filename < 0 || mp->build_id < 0)
		return 0;
	*id = mp->id;
	return *id;
}

static uint64_t function_id(struct pp *P, const char *name, const char *file)
{
	/* the whole name: a demangled C++ name can run to kilobytes, and a
	 * cut key would merge two functions that differ past the cut */
	if (!file)
		file = "";
	size_t cap = strlen(name) + strlen(file) + 2;
	char *key = malloc(cap);
	if (!key)
		return 0;
	snprintf(key, cap, "%s\n%s", name, file);
	uint64_t *id = agg_get(&P->fn_ix, key);
	free(key);
	if (!id || *id)
		return id ? *id : 0;
	Function *f = malloc(sizeof(*f));
	if (vec_push(&P->functions, f)) /* owned by the vector from here */
		return 0;
	perftools__profiles__function__init(f);
	f->id = P->functions.n;
	f->name = f->system_name = str_id(P, name);
	f->filename = str_id(P, file);
	if (f->name < 0 || f->filename < 0)
		return 0;
	*id = f->id;
	return *id;
}

/* Adds a line (function + line number) to a location; -1 on ENOMEM. */
static int add_line(struct pp *P, Location *l, const char *func, const char *file, unsigned line)
{
	Line **nl = realloc(l->line, (l->n_line + 1) * sizeof(*nl));
	if (!nl)
		return -1;
	l->line = nl;
	Line *ln = malloc(sizeof(*ln));
	if (!ln)
		return -1;
	perftools__profiles__line__init(ln);
	ln->function_id = function_id(P, func, file);
	ln->line = line;
	l->line[l->n_line++] = ln;
	return ln->function_id ? 0 : -1;
}

/* The location of one frame; 0 on ENOMEM.  User frames are symbolized
 * with their inline chain (innermost first, as pprof wants). */
static uint64_t location_id(struct pp *P, int kernel, uint64_t modid, int64_t val, int ret)
{
	char key[64];
	snprintf(key, sizeof(key), "%c%" PRIu64 "/%" PRIx64 "/%d", kernel ? 'k' : 'u', modid,
		 (uint64_t)val, ret);
	uint64_t *id = agg_get(&P->loc_ix, key);
	if (!id || *id)
		return id ? *id : 0;
	Location *l = malloc(sizeof(*l));
	if (vec_push(&P->locations, l))
		return 0;
	perftools__profiles__location__init(l);
	l->id = P->locations.n;
	l->address = (uint64_t)val;
	l->mapping_id = mapping_id(P, modid, kernel);
	if (!l->mapping_id)
		return 0;
	char name[300];
	if (kernel) {
		const struct mksym *k = model_ksym(P->m, val);
		snprintf(name, sizeof(name), "%s", k ? model_str(P->m, k->name) : "[kernel: no symbol]");
		if (add_line(P, l, name, NULL, 0))
			return 0;
	} else {
		const struct mmodule *md = model_module(P->m, modid);
		struct sym_result r;
		int err = md ? sym_lookup(P->sym, model_str(P->m, md->path), md->build_id,
					  md->build_id_len, (uint64_t)val, ret, &r) : -EINVAL;
		if (err == -ENOMEM)
			return 0;
		if (err || r.status != SYM_OK || !r.nframes) {
			snprintf(name, sizeof(name), "[%s+0x%" PRIx64 "]",
				 md ? model_str(P->m, md->path) : "unknown", (uint64_t)val);
			if (add_line(P, l, name, NULL, 0))
				return 0;
		} else {
			Mapping *mp = P->mappings.p[l->mapping_id - 1];
			for (unsigned i = 0; i < r.nframes; i++) {
				if (add_line(P, l, r.frames[i].func, r.frames[i].file, r.frames[i].line))
					return 0;
				mp->has_filenames |= r.frames[i].file != NULL;
				mp->has_line_numbers |= r.frames[i].line != 0;
				mp->has_inline_frames |= r.frames[i].inlined;
			}
		}
	}
	*id = l->id;
	return *id;
}

static Label *label(struct pp *P, const char *key, const char *val)
{
	Label *l = malloc(sizeof(*l));
	if (!l)
		return NULL;
	perftools__profiles__label__init(l);
	l->key = str_id(P, key);
	l->str = str_id(P, val);
	if (l->key < 0 || l->str < 0) {
		free(l);
		return NULL;
	}
	return l;
}

static int add_stack(struct pp *P, Sample *s, uint64_t ref, int kernel)
{
	const struct mstack *st = ref >= SREC_STACK_FIRST_ID ? model_stack(P->m, ref) : NULL;
	if (!st)
		return 0; /* no stack, or its capture failed: the sample is shorter */
	uint64_t *nl = realloc(s->location_id, (s->n_location_id + st->n) * sizeof(*nl));
	if (!nl)
		return -1;
	s->location_id = nl;
	for (uint32_t i = 0; i < st->n; i++) {
		uint64_t id = location_id(P, kernel, kernel ? 0 : st->modules[i], st->frames[i], i > 0);
		if (!id)
			return -1;
		s->location_id[s->n_location_id++] = id;
	}
	return 0;
}

static int add_sample(struct pp *P, const struct site *x)
{
	Sample *s = malloc(sizeof(*s));
	if (vec_push(&P->samples, s))
		return -1;
	perftools__profiles__sample__init(s);
	/* leaf first: the kernel frames are below the syscall's user frames */
	if (add_stack(P, s, x->kstack, 1) || add_stack(P, s, x->ustack, 0))
		return -1;
	if (!(s->value = malloc(3 * sizeof(*s->value))))
		return -1;
	s->n_value = 3;
	s->value[PPROF_ALLOCS] = (int64_t)x->allocs;
	s->value[PPROF_OPEN] = (int64_t)x->open;
	s->value[PPROF_LEAKED] = (int64_t)x->leaks;
	char kind[64];
	site_kind(kind, sizeof(kind), x);
	const char *kv[4][2] = { { "comm", model_str(P->m, x->comm) }, { "kind", kind },
				 { "origin", origin_name(x->origin) },
				 { "host", P->strings.p[P->host] } };
	if (!(s->label = calloc(4, sizeof(*s->label))))
		return -1;
	for (int i = 0; i < 4; i++) {
		if (!(s->label[i] = label(P, kv[i][0], kv[i][1])))
			return -1;
		s->n_label++;
	}
	return 0;
}

static void free_all(struct pp *P)
{
	for (size_t i = 0; i < P->samples.n; i++) {
		Sample *s = P->samples.p[i];
		for (size_t j = 0; j < s->n_label; j++)
			free(s->label[j]);
		free(s->label);
		free(s->location_id);
		free(s->value);
		free(s);
	}
	for (size_t i = 0; i < P->locations.n; i++) {
		Location *l = P->locations.p[i];
		for (size_t j = 0; j < l->n_line; j++)
			free(l->line[j]);
		free(l->line);
		free(l);
	}
	for (size_t i = 0; i < P->functions.n; i++)
		free(P->functions.p[i]);
	for (size_t i = 0; i < P->mappings.n; i++)
		free(P->mappings.p[i]);
	for (size_t i = 0; i < P->strings.n; i++)
		free(P->strings.p[i]);
	free(P->samples.p);
	free(P->locations.p);
	free(P->functions.p);
	free(P->mappings.p);
	free(P->strings.p);
	agg_free(&P->str_ix);
	agg_free(&P->loc_ix);
	agg_free(&P->fn_ix);
	agg_free(&P->map_ix);
}

/* gzip of buf into c->pprof: staged beside it and renamed into place only
 * when whole (outfile.h: 0600, no symlink, not over a file without -f). */
static int write_gz(const struct cli *c, const uint8_t *buf, size_t len)
{
	char why[600];
	struct outfile_stage o;
	int fd = outfile_stage(&o, c->pprof, c->force, why, sizeof(why));
	if (fd < 0) {
		fprintf(stderr, "sockreport: ");
		out_text_z(stderr, why);
		fputc('\n', stderr);
		return 1;
	}
	gzFile gz = gzdopen(fd, "wb");
	if (!gz) {
		close(fd);
		outfile_abort(&o);
		fprintf(stderr, "sockreport: out of memory\n");
		return 1;
	}
	int ok = 1;
	for (size_t off = 0; off < len && ok;) {
		unsigned chunk = len - off > (1u << 30) ? 1u << 30 : (unsigned)(len - off);
		int w = gzwrite(gz, buf + off, chunk);
		ok = w > 0;
		off += (size_t)(w > 0 ? w : 0);
	}
	if (gzclose(gz) != Z_OK || !ok) {
		outfile_abort(&o);
		fprintf(stderr, "sockreport: writing ");
		out_text_z(stderr, c->pprof);
		fprintf(stderr, " failed\n");
		return 1;
	}
	if (outfile_commit(&o, why, sizeof(why))) {
		fprintf(stderr, "sockreport: ");
		out_text_z(stderr, why);
		fputc('\n', stderr);
		return 1;
	}
	return 0;
}

int pprof_write(const struct cli *c, struct model *m, struct sym_ctx *sym, struct sites *ss,
		uint64_t end, enum pprof_value preferred)
{
	struct pp P;
	memset(&P, 0, sizeof(P));
	P.m = m;
	P.sym = sym;
	agg_init(&P.str_ix, sizeof(int64_t));
	agg_init(&P.loc_ix, sizeof(uint64_t));
	agg_init(&P.fn_ix, sizeof(uint64_t));
	agg_init(&P.map_ix, sizeof(uint64_t));
	static const char *const types[3] = { "allocations", "open", "leaked" };
	ValueType vt[3], period_type;
	ValueType *vtp[3] = { &vt[0], &vt[1], &vt[2] };
	Profile prof;
	perftools__profiles__profile__init(&prof);
	perftools__profiles__value_type__init(&period_type);
	int rc = 1;
	uint8_t *buf = NULL;
	const char *host = model_meta(m, "host.name");
	/* string_table[0] must be "" */
	if (str_id(&P, "") != 0 || (P.host = str_id(&P, host ? host : "unknown")) < 0)
		goto nomem;
	for (int i = 0; i < 3; i++) {
		perftools__profiles__value_type__init(&vt[i]);
		vt[i].type = str_id(&P, types[i]);
		vt[i].unit = str_id(&P, "sockets");
		if (vt[i].type < 0 || vt[i].unit < 0)
			goto nomem;
	}
	for (size_t i = 0; i < ss->by_id.n; i++)
		if (add_sample(&P, ss->by_id.vals[i]))
			goto nomem;
	prof.n_sample_type = 3;
	prof.sample_type = vtp;
	prof.default_sample_type = vt[preferred].type;
	period_type = vt[PPROF_ALLOCS];
	prof.period_type = &period_type;
	prof.period = 1; /* every socket, no sampling */
	const char *mono = model_meta(m, "clock.monotonic_ns"), *real = model_meta(m, "clock.realtime_ns");
	int64_t off, t0;
	if (!wall_offset(mono, real, &off) && !wall_ns(off, m->start_ns, &t0))
		prof.time_nanos = t0;
	prof.duration_nanos = end > m->start_ns ? (int64_t)(end - m->start_ns) : 0;
	prof.n_sample = P.samples.n;
	prof.sample = (Sample **)P.samples.p;
	prof.n_location = P.locations.n;
	prof.location = (Location **)P.locations.p;
	prof.n_function = P.functions.n;
	prof.function = (Function **)P.functions.p;
	prof.n_mapping = P.mappings.n;
	prof.mapping = (Mapping **)P.mappings.p;
	prof.n_string_table = P.strings.n;
	prof.string_table = (char **)P.strings.p;
	size_t len = perftools__profiles__profile__get_packed_size(&prof);
	if (!(buf = malloc(len ? len : 1)))
		goto nomem;
	if (perftools__profiles__profile__pack(&prof, buf) != len) {
		fprintf(stderr, "sockreport: protobuf-c packed a profile of an unexpected size\n");
		goto out;
	}
	rc = write_gz(c, buf, len);
	goto out;
nomem:
	fprintf(stderr, "sockreport: out of memory\n");
out:
	free(buf);
	free_all(&P);
	return rc;
}
