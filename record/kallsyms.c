/* kallsyms.c - parse /proc/kallsyms once, bisect per frame. */
#include "kallsyms.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KSYM_MAX_SIZE (256u << 10)

struct ksym {
	uint64_t addr;
	uint32_t name;    /* offset into names */
	uint32_t mod;     /* offset into names, 0 = vmlinux */
	uint8_t emitted;
};

struct ksyms {
	struct ksym *s;
	size_t n;
	char *names;
	size_t names_len, names_cap;
	uint64_t text_base;
};

static int cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int add_name(struct ksyms *k, const char *s, uint32_t *off)
{
	size_t l = strlen(s) + 1;
	if (k->names_len + l > k->names_cap) {
		size_t nc = k->names_cap ? k->names_cap * 2 : 1 << 20;
		while (nc < k->names_len + l)
			nc *= 2;
		char *nn = realloc(k->names, nc);
		if (!nn)
			return -1;
		k->names = nn;
		k->names_cap = nc;
	}
	memcpy(k->names + k->names_len, s, l);
	*off = (uint32_t)k->names_len;
	k->names_len += l;
	return 0;
}

struct ksyms *ksyms_load(void)
{
	struct ksyms *k = calloc(1, sizeof(*k));
	size_t cap = 0;
	char line[512];
	FILE *f;

	if (!k)
		return NULL;
	f = fopen("/proc/kallsyms", "re");
	if (!f) {
		free(k);
		return NULL;
	}
	uint32_t dummy;
	if (add_name(k, "", &dummy)) /* offset 0 = no module */
		goto fail;
	while (fgets(line, sizeof(line), f)) {
		uint64_t addr;
		char type, name[256], mod[128] = "";
		int n = sscanf(line, "%" SCNx64 " %c %255s [%127[^]]]", &addr, &type, name, mod);
		if (n < 3)
			continue;
		if (!strcmp(name, "_text") && !mod[0])
			k->text_base = addr;
		/* Text symbols only: frames are code addresses. */
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (!addr)
			continue;
		if (k->n == cap) {
			size_t nc = cap ? cap * 2 : 65536;
			struct ksym *ns = realloc(k->s, nc * sizeof(*ns));
			if (!ns)
				goto fail;
			k->s = ns;
			cap = nc;
		}
		struct ksym *s = &k->s[k->n];
		memset(s, 0, sizeof(*s));
		s->addr = addr;
		if (add_name(k, name, &s->name))
			goto fail;
		if (mod[0] && add_name(k, mod, &s->mod))
			goto fail;
		k->n++;
	}
	fclose(f);
	f = NULL;
	if (!k->n) {
		/* kptr_restrict hides addresses: all zero. */
		ksyms_free(k);
		errno = EPERM;
		return NULL;
	}
	qsort(k->s, k->n, sizeof(*k->s), cmp);
	return k;
fail:
	if (f)
		fclose(f);
	ksyms_free(k);
	errno = ENOMEM;
	return NULL;
}

void ksyms_free(struct ksyms *k)
{
	if (!k)
		return;
	free(k->s);
	free(k->names);
	free(k);
}

uint64_t ksyms_text_base(const struct ksyms *k)
{
	return k ? k->text_base : 0;
}

static struct ksym *find(const struct ksyms *k, uint64_t addr, uint64_t *size)
{
	size_t lo = 0, hi = k->n;
	if (!k->n || addr < k->s[0].addr)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (k->s[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* kallsyms has no sizes: a symbol ends where the next one starts.
	 * Past the last text symbol of a region (for example _einittext,
	 * before the BPF JIT area) that would be huge: cap it, so that an
	 * address in code we have no symbol for reads as unknown. */
	*size = lo + 1 < k->n ? k->s[lo + 1].addr - k->s[lo].addr : 4096;
	if (*size > KSYM_MAX_SIZE)
		*size = KSYM_MAX_SIZE;
	if (addr - k->s[lo].addr >= *size)
		return NULL;
	return &k->s[lo];
}

const char *ksyms_name(const struct ksyms *k, uint64_t addr)
{
	uint64_t size;
	const struct ksym *s = k ? find(k, addr, &size) : NULL;
	return s ? k->names + s->name : NULL;
}

int ksyms_emit(struct ksyms *k, uint64_t addr, struct srec_writer *w, struct srec_intern *in)
{
	uint64_t size;
	struct ksym *s = k ? find(k, addr, &size) : NULL;
	struct srec_record r;
	int err = 0;

	if (!s || s->emitted)
		return 0;
	memset(&r, 0, offsetof(struct srec_record, u) + sizeof(r.u.ksym));
	r.type = SREC_R_KSYM;
	r.u.ksym.off = (int64_t)(s->addr - k->text_base);
	r.u.ksym.size = size;
	const char *name = k->names + s->name;
	r.u.ksym.name = srec_intern_string(in, w, name, strlen(name), &err);
	if (err)
		return err;
	if (s->mod) {
		const char *mod = k->names + s->mod;
		r.u.ksym.kmod = srec_intern_string(in, w, mod, strlen(mod), &err);
		if (err)
			return err;
	}
	if ((err = srec_writer_add(w, &r)))
		return err;
	s->emitted = 1;
	return 0;
}

int ksyms_is_tracing_frame(const struct ksyms *k, uint64_t addr)
{
	uint64_t size;
	const struct ksym *s = k ? find(k, addr, &size) : NULL;
	if (!s)
		return 1; /* JIT code (the BPF program itself, trampolines) */
	const char *n = k->names + s->name;
	return !strncmp(n, "bpf_", 4) || !strncmp(n, "__bpf_", 6) ||
	       !strncmp(n, "__traceiter_", 12) || !strncmp(n, "trace_call_bpf", 14) ||
	       !strncmp(n, "kprobe_", 7) || !strncmp(n, "kretprobe_", 10) ||
	       !strncmp(n, "perf_trace_", 11) || !strncmp(n, "__kretprobe_trampoline", 22) ||
	       !strcmp(n, "arch_rethook_trampoline") || !strncmp(n, "rethook_", 8);
}
