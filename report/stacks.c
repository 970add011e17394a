/* stacks.c - symbolize and cache whole stacks. */
#include "stacks.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "out.h"

struct cached {
	char **lines;
	size_t n;
	int done;
};

struct stacks {
	struct model *m;
	struct sym_ctx *sym;
	uint8_t kbid[64];      /* META kernel.build_id, decoded */
	size_t kbid_len;
	int kernel_ok;         /* --vmlinux matches that build-id */
	struct cached *by_id; /* index: stack id - SREC_STACK_FIRST_ID */
	size_t cap;
	size_t nsyms;         /* embedded symbols of the model handed over */
	struct cached errs[SREC_STACK_FIRST_ID];
};

/* Hex text -> bytes; 0 (nothing) unless it is an even number of hex
 * digits that fits. */
static size_t unhex(const char *t, uint8_t *out, size_t cap)
{
	size_t n = t ? strlen(t) : 0;
	if (!n || n % 2 || n / 2 > cap)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = t[i];
		int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
			ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
		if (v < 0)
			return 0;
		if (i % 2)
			out[i / 2] = (uint8_t)(out[i / 2] | v);
		else
			out[i / 2] = (uint8_t)(v << 4);
	}
	return n / 2;
}

int stacks_sync(struct stacks *s)
{
	struct model *m = s->m;
	/* Symbols embedded in the file answer when no binary does. */
	for (; s->sym && s->nsyms < m->nsyms; s->nsyms++) {
		const struct msym *e = &m->syms[s->nsyms];
		const struct mmodule *md = model_module(m, e->module);
		const char *name = model_str(m, e->name);
		if (!md || !e->size || !name[0])
			continue;
		if (sym_add_embedded(s->sym, md->build_id, md->build_id_len, model_str(m, md->path),
				     e->off, e->size, name) == -ENOMEM)
			return -1;
	}
	if (m->nstacks > s->cap) {
		struct cached *nb = realloc(s->by_id, m->nstacks * sizeof(*nb));
		if (!nb)
			return -1;
		memset(nb + s->cap, 0, (m->nstacks - s->cap) * sizeof(*nb));
		s->by_id = nb;
		s->cap = m->nstacks;
	}
	return 0;
}

struct stacks *stacks_new(struct model *m, struct sym_ctx *sym)
{
	struct stacks *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->m = m;
	s->sym = sym;
	/* --vmlinux: checked once against the recording's kernel; a mismatch
	 * is said here, whether or not a kernel frame is printed later. */
	s->kbid_len = unhex(model_meta(m, "kernel.build_id"), s->kbid, sizeof(s->kbid));
	if (sym) {
		enum sym_status st = SYM_NOT_FOUND;
		const char *why = "";
		int err = sym_kernel_check(sym, s->kbid, s->kbid_len, &st, &why);
		if (err == -ENOMEM) {
			free(s);
			return NULL;
		}
		s->kernel_ok = !err && st == SYM_OK;
		if (!err && st != SYM_OK && why[0])
			fprintf(stderr, "sockreport: WARNING: --vmlinux %s; kernel frames show the "
				"recorded symbols only\n", why);
	}
	s->by_id = calloc(1, sizeof(*s->by_id));
	if (!s->by_id || stacks_sync(s)) {
		stacks_free(s);
		return NULL;
	}
	return s;
}

static void free_cached(struct cached *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	free(c->lines);
}

void stacks_free(struct stacks *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free_cached(&s->by_id[i]);
	for (size_t i = 0; i < SREC_STACK_FIRST_ID; i++)
		free_cached(&s->errs[i]);
	free(s->by_id);
	free(s);
}

static int push(struct cached *c, const char *text)
{
	char **nl = realloc(c->lines, (c->n + 1) * sizeof(*nl));
	if (!nl)
		return -1;
	c->lines = nl;
	/* Text from the file is hostile: escape it before it can reach a
	 * terminal (JSON output escapes again, losslessly). */
	size_t cap = strlen(text) * 4 + 1;
	char *e = malloc(cap);
	if (!e)
		return -1;
	out_text_buf(e, cap, text, strlen(text));
	c->lines[c->n++] = e;
	return 0;
}

static const char *base(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

/* One line per frame of a symbolized address, innermost (inlined) first:
 * "func (inlined) (MODULE) FILE:LINE" ... "func+0xOFF (MODULE) FILE:LINE",
 * each followed by tag. */
static int push_frames(struct cached *c, const struct sym_result *r, const char *module,
		       const char *tag)
{
	char buf[1024];
	for (unsigned i = 0; i < r->nframes; i++) {
		const struct sym_frame *f = &r->frames[i];
		char loc[600] = "";
		if (f->file)
			snprintf(loc, sizeof(loc), " %s:%u", f->file, f->line);
		if (f->inlined)
			snprintf(buf, sizeof(buf), "%s (inlined) (%s)%s%s", f->func, module, loc, tag);
		else
			snprintf(buf, sizeof(buf), "%s+0x%" PRIx64 " (%s)%s%s", f->func, f->func_off,
				 module, loc, tag);
		if (push(c, buf))
			return -1;
	}
	return 0;
}

static int user_frame(struct stacks *s, struct cached *c, uint64_t modid, int64_t val, int ret,
		      int recovered)
{
	char buf[1024];
	const struct mmodule *md = model_module(s->m, modid);
	const char *tag = recovered ? " [from stack top]" : "";

	if (!md) {
		snprintf(buf, sizeof(buf), "[unknown: no mapping] 0x%" PRIx64 "%s", (uint64_t)val, tag);
		return push(c, buf);
	}
	const char *path = model_str(s->m, md->path);
	struct sym_result r;
	int err = s->sym ? sym_lookup(s->sym, path, md->build_id, md->build_id_len, (uint64_t)val, ret,
				      &r) : -1;
	if (err || r.status != SYM_OK) {
		const char *why = err ? "not symbolized" :
				  r.status == SYM_BUILDID_MISMATCH ? "build-id mismatch" :
				  r.status == SYM_NOT_FOUND ? "not found" :
				  r.status == SYM_NO_SYMBOL ? "no symbol" : "unreadable file";
		snprintf(buf, sizeof(buf), "[%s+0x%" PRIx64 ": %s]%s", base(path), (uint64_t)val, why,
			 tag);
		return push(c, buf);
	}
	return push_frames(c, &r, r.module, tag);
}

/* A kernel frame: "func+0xOFF [kernel]" from the recorded symbols
 * (KSYM), "func+0xOFF [module NAME]" in a kernel module, and with a
 * matching --vmlinux "func+0xOFF (kernel) FILE:LINE" preceded by one
 * "func (inlined) (kernel) FILE:LINE" line per inlined function, like user
 * frames and `addr2line -f -i`. */
static int kernel_frame(struct stacks *s, struct cached *c, int64_t off, int ret)
{
	char buf[1024];
	const struct mksym *k = model_ksym(s->m, off);
	if (k && k->kmod) {
		/* modules are not in vmlinux: the recorded symbol is all there is */
		snprintf(buf, sizeof(buf), "%s+0x%" PRIx64 " [module %s]", model_str(s->m, k->name),
			 (uint64_t)off - (uint64_t)k->off, model_str(s->m, k->kmod));
		return push(c, buf);
	}
	if (s->kernel_ok) {
		struct sym_result r;
		int err = sym_kernel_lookup(s->sym, s->kbid, s->kbid_len, off, ret, &r);
		if (err == -ENOMEM)
			return -1;
		if (!err && r.status == SYM_OK && r.nframes) {
			/* The real function is named as the recording's kallsyms
			 * names it when that symbol starts at or after the one
			 * found in the vmlinux: kallsyms picks among aliases as
			 * the kernel does, and knows the inner labels of assembly
			 * code (entry_SYSCALL_64_after_hwframe), as addr2line
			 * does.  The names then agree with and without --vmlinux. */
			struct sym_frame *last = &r.frames[r.nframes - 1];
			uint64_t koff = k ? (uint64_t)off - (uint64_t)k->off : 0;
			if (k && koff <= last->func_off) {
				last->func = model_str(s->m, k->name);
				last->func_off = koff;
			}
			return push_frames(c, &r, "kernel", "");
		}
	}
	if (!k) {
		snprintf(buf, sizeof(buf), "[kernel+0x%" PRIx64 ": no symbol%s]", (uint64_t)off,
			 s->kernel_ok ? " in the recording or the vmlinux" : "");
		return push(c, buf);
	}
	snprintf(buf, sizeof(buf), "%s+0x%" PRIx64 " [kernel]", model_str(s->m, k->name),
		 (uint64_t)off - (uint64_t)k->off);
	return push(c, buf);
}

#define NOTE_PREFIX "[unwound"
#define STOP_PREFIX "[unwinding stopped"

int stacks_line_is_note(const char *line)
{
	return !strncmp(line, NOTE_PREFIX, sizeof(NOTE_PREFIX) - 1) ||
	       !strncmp(line, STOP_PREFIX, sizeof(STOP_PREFIX) - 1);
}

/* The last line of a user stack: how it was unwound and why it ends.  Not
 * a frame (stacks_line_is_note). */
static int unwind_note(struct stacks *s, struct cached *c, const struct srec_unwind *u)
{
	static const char *const method[SREC_UNWIND__MAX] = {
		[SREC_UNWIND_FP] = "frame pointers",
		[SREC_UNWIND_CFI] = "CFI",
		[SREC_UNWIND_MIXED] = "CFI and frame pointers",
	};
	/* %s: the module+offset or address the stop names */
	static const char *const stop[SREC_STOP__MAX] = {
		[SREC_STOP_NO_CFI] = "no CFI for %s",
		[SREC_STOP_COPY_LIMIT] = "stack copy limit reached (sockrec --stack-copy)",
		[SREC_STOP_UNREADABLE] = "the next frame is outside the readable stack",
		[SREC_STOP_STEP_LIMIT] = "frame limit reached",
		[SREC_STOP_NO_MAPPING] = "return address %s is in no mapping",
		[SREC_STOP_BAD_FRAME] = "corrupt frame (the stack pointer did not move up)",
		[SREC_STOP_CFI_UNSUPPORTED] = "CFI rule not supported at %s",
		[SREC_STOP_NO_MODULE] = "module unreadable at record time: %s",
	};
	char buf[512], where[320];
	const char *how = u->method < SREC_UNWIND__MAX ? method[u->method] : NULL;

	if (!how)
		return 0; /* not recorded (files before 1.2) */
	if (u->stop == SREC_STOP_UNKNOWN) {
		snprintf(buf, sizeof(buf), NOTE_PREFIX " with %s]", how);
		return push(c, buf);
	}
	if (u->stop == SREC_STOP_END) {
		snprintf(buf, sizeof(buf), NOTE_PREFIX " with %s to the thread's start]", how);
		return push(c, buf);
	}
	const struct mmodule *md = u->stop_module ? model_module(s->m, u->stop_module) : NULL;
	if (md)
		snprintf(where, sizeof(where), "%s+0x%" PRIx64, base(model_str(s->m, md->path)),
			 u->stop_value);
	else
		snprintf(where, sizeof(where), "0x%" PRIx64, u->stop_value);
	char why[400];
	if (u->stop < SREC_STOP__MAX && stop[u->stop])
		snprintf(why, sizeof(why), stop[u->stop], where);
	else
		snprintf(why, sizeof(why), "reason %u", u->stop);
	snprintf(buf, sizeof(buf), STOP_PREFIX ": %s] (%s)", why, how);
	return push(c, buf);
}

const char *const *stacks_lines(struct stacks *s, uint64_t ref, size_t *n)
{
	struct cached *c;

	*n = 0;
	if (ref < SREC_STACK_FIRST_ID) {
		c = &s->errs[ref];
		if (!c->done && ref != SREC_STACK_NONE) {
			char buf[128];
			snprintf(buf, sizeof(buf), "[%s]", stack_error_name(ref));
			if (push(c, buf))
				return NULL;
		}
		c->done = 1;
		*n = c->n;
		return (const char *const *)c->lines;
	}
	size_t idx = ref - SREC_STACK_FIRST_ID;
	const struct mstack *st = model_stack(s->m, ref);
	if (!st || idx >= s->cap) {
		c = &s->errs[SREC_STACK_OTHERERR];
		if (!c->done) {
			if (push(c, "[stack lost: its definition is missing from the file]"))
				return NULL;
			c->done = 1;
		}
		*n = c->n;
		return (const char *const *)c->lines;
	}
	c = &s->by_id[idx];
	if (!c->done) {
		for (uint32_t i = 0; i < st->n; i++) {
			int err;
			if (st->kind == SREC_STACK_USER) {
				int recovered = i == 1 && (st->flags & SREC_STACKF_LEAF_RET);
				err = user_frame(s, c, st->modules[i], st->frames[i], i > 0, recovered);
			} else {
				err = kernel_frame(s, c, st->frames[i], i > 0);
			}
			if (err)
				return NULL;
		}
		if (st->kind == SREC_STACK_USER && unwind_note(s, c, &st->unwind))
			return NULL;
		c->done = 1;
	}
	*n = c->n;
	return (const char *const *)c->lines;
}

void stacks_frame_key(const char *line, char *out, size_t cap)
{
	/* "func+0x12 (mod) file:line" -> "mod!func"; "[...]" kept whole
	 * without its offset part. */
	char func[256] = "", mod[256] = "";
	const char *plus = strstr(line, "+0x");
	const char *sp = strchr(line, ' ');
	const char *lp = strchr(line, '(');
	if (line[0] == '[') {
		const char *colon = strchr(line, ':');
		const char *p2 = strstr(line, "+0x");
		size_t l = p2 ? (size_t)(p2 - line) : colon ? (size_t)(colon - line) : strlen(line);
		/* "[stack lost]" has no part to cut: keep its own bracket */
		int whole = l == strlen(line) && l && line[l - 1] == ']';
		snprintf(out, cap, whole ? "%.*s" : "%.*s]", (int)(l < 250 ? l : 250), line);
		return;
	}
	size_t fl = plus && (!sp || plus < sp) ? (size_t)(plus - line) : sp ? (size_t)(sp - line) :
										   strlen(line);
	snprintf(func, sizeof(func), "%.*s", (int)(fl < 250 ? fl : 250), line);
	if (lp) {
		const char *rp = strchr(lp, ')');
		if (rp && !strncmp(lp, "(inlined)", 9)) {
			lp = strchr(rp, '(');
			rp = lp ? strchr(lp, ')') : NULL;
		}
		if (lp && rp)
			snprintf(mod, sizeof(mod), "%.*s", (int)(rp - lp - 1 < 250 ? rp - lp - 1 : 250),
				 lp + 1);
	} else if ((lp = strchr(line, '['))) {
		const char *rp = strchr(lp, ']');
		if (rp)
			snprintf(mod, sizeof(mod), "%.*s", (int)(rp - lp - 1 < 250 ? rp - lp - 1 : 250),
				 lp + 1);
	}
	snprintf(out, cap, "%s!%s", mod, func);
}
