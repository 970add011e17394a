/* srec_intern.c - open-addressing hash of byte keys -> ids. */
#include "srec_intern.h"
#include "srec_error.h"
#include <stdlib.h>
#include <string.h>

struct slot {
	uint64_t hash;
	uint64_t id;
	uint8_t *key; /* 1 byte namespace tag + the value's bytes */
	size_t len;
};

struct srec_intern {
	struct slot *slots;
	size_t cap, used;
	uint64_t next_string, next_module, next_stack;
	uint8_t *scratch;
	size_t scratch_cap;
	struct srec_record *rec; /* large (frame arrays): kept off the stack */
};

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	/* FNV-1a, folded: keys are short and this is not on a hostile path
	 * (the recorder interns what its own kernel side produced). */
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

struct srec_intern *srec_intern_new(void)
{
	struct srec_intern *in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->cap = 1024;
	in->slots = calloc(in->cap, sizeof(*in->slots));
	in->rec = malloc(sizeof(*in->rec));
	if (!in->slots || !in->rec) {
		free(in->slots);
		free(in->rec);
		free(in);
		return NULL;
	}
	in->next_string = 1;
	in->next_module = 1;
	in->next_stack = SREC_STACK_FIRST_ID;
	return in;
}

void srec_intern_free(struct srec_intern *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->cap; i++)
		free(in->slots[i].key);
	free(in->slots);
	free(in->scratch);
	free(in->rec);
	free(in);
}

size_t srec_intern_count(const struct srec_intern *in)
{
	return in ? in->used : 0;
}

static int rehash(struct srec_intern *in)
{
	size_t ncap = in->cap * 2;
	struct slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return SREC_E_NOMEM;
	for (size_t i = 0; i < in->cap; i++) {
		if (!in->slots[i].key)
			continue;
		size_t j = in->slots[i].hash & (ncap - 1);
		while (ns[j].key)
			j = (j + 1) & (ncap - 1);
		ns[j] = in->slots[i];
	}
	free(in->slots);
	in->slots = ns;
	in->cap = ncap;
	return SREC_OK;
}

/* Look key up; if absent and `fresh` is non-NULL, insert it with id *fresh
 * and set *inserted.  Returns the id, 0 on allocation failure. */
static uint64_t lookup(struct srec_intern *in, const uint8_t *key, size_t len, uint64_t fresh,
		       int *inserted)
{
	uint64_t h = hash_bytes(key, len);
	size_t j = h & (in->cap - 1);

	*inserted = 0;
	while (in->slots[j].key) {
		struct slot *s = &in->slots[j];
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
			return s->id;
		j = (j + 1) & (in->cap - 1);
	}
	if ((in->used + 1) * 4 > in->cap * 3) {
		if (rehash(in))
			return 0;
		return lookup(in, key, len, fresh, inserted);
	}
	uint8_t *k = malloc(len ? len : 1);
	if (!k)
		return 0;
	memcpy(k, key, len);
	in->slots[j] = (struct slot){ h, fresh, k, len };
	in->used++;
	*inserted = 1;
	return fresh;
}

static uint8_t *scratch(struct srec_intern *in, size_t n)
{
	if (n > in->scratch_cap) {
		uint8_t *p = realloc(in->scratch, n);
		if (!p)
			return NULL;
		in->scratch = p;
		in->scratch_cap = n;
	}
	return in->scratch;
}

uint64_t srec_intern_string(struct srec_intern *in, struct srec_writer *w, const char *s,
			    size_t len, int *err)
{
	struct srec_record r;
	int ins;

	*err = SREC_OK;
	if (!s || !len)
		return 0;
	uint8_t *k = scratch(in, len + 1);
	if (!k) {
		*err = SREC_E_NOMEM;
		return 0;
	}
	k[0] = 'S';
	memcpy(k + 1, s, len);
	uint64_t id = lookup(in, k, len + 1, in->next_string, &ins);
	if (!id) {
		*err = SREC_E_NOMEM;
		return 0;
	}
	if (!ins)
		return id;
	in->next_string++;
	memset(&r, 0, offsetof(struct srec_record, u) + sizeof(r.u.string));
	r.type = SREC_R_STRING;
	r.u.string.id = id;
	r.u.string.str.p = (const uint8_t *)s;
	r.u.string.str.len = (uint32_t)len;
	*err = srec_writer_add(w, &r);
	return *err ? 0 : id;
}

uint64_t srec_intern_module(struct srec_intern *in, struct srec_writer *w, const char *path,
			    const uint8_t *build_id, size_t build_id_len, int *err)
{
	struct srec_record r;
	size_t plen = path ? strlen(path) : 0;
	int ins;

	*err = SREC_OK;
	uint8_t *k = scratch(in, 2 + plen + build_id_len);
	if (!k) {
		*err = SREC_E_NOMEM;
		return 0;
	}
	k[0] = 'M';
	k[1] = (uint8_t)build_id_len;
	if (build_id_len)
		memcpy(k + 2, build_id, build_id_len);
	if (plen)
		memcpy(k + 2 + build_id_len, path, plen); // NOLINT(bugprone-not-null-terminated-result): a binary key, not a string
	uint64_t id = lookup(in, k, 2 + plen + build_id_len, in->next_module, &ins);
	if (!id) {
		*err = SREC_E_NOMEM;
		return 0;
	}
	if (!ins)
		return id;
	in->next_module++;
	uint64_t pid = srec_intern_string(in, w, path, plen, err);
	if (*err)
		return 0;
	memset(&r, 0, offsetof(struct srec_record, u) + sizeof(r.u.module));
	r.type = SREC_R_MODULE;
	r.u.module.id = id;
	r.u.module.path = pid;
	r.u.module.build_id.p = build_id;
	r.u.module.build_id.len = (uint32_t)build_id_len;
	*err = srec_writer_add(w, &r);
	return *err ? 0 : id;
}

_Static_assert(sizeof(struct srec_unwind) == 24, "the stack key copies srec_unwind bytewise");

uint64_t srec_intern_stack(struct srec_intern *in, struct srec_writer *w, uint32_t kind,
			   uint32_t flags, const struct srec_unwind *uw, const int64_t *frames,
			   const uint64_t *modules, uint32_t nframes, int *err)
{
	struct srec_record *r = in->rec;
	int ins;

	*err = SREC_OK;
	if (nframes > SREC_MAX_FRAMES)
		nframes = SREC_MAX_FRAMES;
	size_t per = kind == SREC_STACK_USER ? 16 : 8;
	const struct srec_unwind none = { 0, 0, 0, 0 };
	if (!uw)
		uw = &none;
	size_t klen = 1 + 8 + sizeof(*uw) + (size_t)nframes * per;
	uint8_t *k = scratch(in, klen);
	if (!k) {
		*err = SREC_E_NOMEM;
		return 0;
	}
	k[0] = 'K';
	memcpy(k + 1, &kind, 4);
	memcpy(k + 5, &flags, 4);
	memcpy(k + 9, uw, sizeof(*uw)); /* no padding: 4 + 4 + 8 + 8 */
	uint8_t *kf = k + 9 + sizeof(*uw);
	for (uint32_t i = 0; i < nframes; i++) {
		memcpy(kf + i * per, &frames[i], 8);
		if (per == 16)
			memcpy(kf + i * per + 8, &modules[i], 8);
	}
	uint64_t id = lookup(in, k, klen, in->next_stack, &ins);
	if (!id) {
		*err = SREC_E_NOMEM;
		return 0;
	}
	if (!ins)
		return id;
	in->next_stack++;
	r->type = SREC_R_STACK;
	r->u.stack.id = id;
	r->u.stack.kind = kind;
	r->u.stack.flags = flags;
	r->u.stack.nframes = nframes;
	r->u.stack.unwind = *uw;
	memcpy(r->u.stack.frames, frames, nframes * sizeof(int64_t));
	if (kind == SREC_STACK_USER)
		memcpy(r->u.stack.modules, modules, nframes * sizeof(uint64_t));
	*err = srec_writer_add(w, r);
	return *err ? 0 : id;
}
