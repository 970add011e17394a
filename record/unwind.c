/* unwind.c - CFI unwinding of copied user stacks with elfutils' libdw. */
#include "unwind.h"
#include "buildid.h"
#include "hmap.h"
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ringbuf_events.h"

/* DWARF register numbers of the x86-64 psABI: the only registers an
 * unwinder of return addresses needs there. */
#define REG_BP 6
#define REG_SP 7
#define REG_RA 16
/* libdw's operation codes (dwarf.h), as dwarf_frame_cfa() and
 * dwarf_frame_register() return the common rules decoded. */
#define OP_BREGX 0x92
#define OP_CALL_FRAME_CFA 0x9c
#define OP_PLUS_UCONST 0x23

#define MAX_LOADS 16

struct umod {
	int state;              /* 0 not opened yet, 1 usable, 2 unusable */
	int fd;
	Elf *elf;
	Dwarf_CFI *eh;          /* .eh_frame (dwarf_getcfi_elf) */
	Dwarf *dw;
	Dwarf_CFI *dbg;         /* .debug_frame, owned by dw */
	size_t nload;
	struct load { uint64_t off, filesz, vaddr; } load[MAX_LOADS];
};

struct unwinder {
	struct procs *procs;
	struct umod *mods;      /* by module id */
	size_t nmods;
	struct hmap *rules;     /* (module, file offset of the looked-up pc) -> packed rule */
	struct uw_stats st;
};

/* A rule, packed into the rule cache's 64-bit value. */
enum rule_kind { RULE_OK = 1, RULE_NOCFI, RULE_END, RULE_UNSUPPORTED, RULE_NOMODULE };
enum { CFA_SP = 1, CFA_BP = 2 };
enum { BP_SAME = 0, BP_AT = 1, BP_UNDEF = 2 };

struct rule {
	unsigned kind, cfa_reg, bp_how;
	int64_t cfa_off, ra_off, bp_off;
};

static int fits(int64_t v, int bits)
{
	return v >= -(1ll << (bits - 1)) && v < (1ll << (bits - 1));
}

/* kind:3 cfa_reg:2 bp_how:2 | ra_off:16 @8 | bp_off:16 @24 | cfa_off:24 @40 */
static uint64_t rule_pack(const struct rule *r)
{
	return (uint64_t)r->kind | (uint64_t)r->cfa_reg << 3 | (uint64_t)r->bp_how << 5 |
	       ((uint64_t)r->ra_off & 0xffff) << 8 | ((uint64_t)r->bp_off & 0xffff) << 24 |
	       ((uint64_t)r->cfa_off & 0xffffff) << 40;
}

static int64_t sext(uint64_t v, int bits)
{
	uint64_t m = 1ull << (bits - 1);
	v &= (1ull << bits) - 1;
	return (int64_t)((v ^ m) - m);
}

static struct rule rule_unpack(uint64_t v)
{
	struct rule r = { (unsigned)(v & 7), (unsigned)(v >> 3 & 3), (unsigned)(v >> 5 & 3),
			  sext(v >> 40, 24), sext(v >> 8, 16), sext(v >> 24, 16) };
	return r;
}

struct unwinder *unwinder_new(struct procs *procs)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->procs = procs;
	u->rules = hmap_new();
	if (!u->rules || elf_version(EV_CURRENT) == EV_NONE) {
		unwinder_free(u);
		return NULL;
	}
	return u;
}

static void umod_close(struct umod *m)
{
	if (m->eh)
		dwarf_cfi_end(m->eh);
	if (m->dw)
		dwarf_end(m->dw);
	if (m->elf)
		elf_end(m->elf);
	if (m->fd > 0)
		close(m->fd);
	memset(m, 0, sizeof(*m));
}

void unwinder_free(struct unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nmods; i++)
		umod_close(&u->mods[i]);
	free(u->mods);
	hmap_free(u->rules);
	free(u);
}

void unwinder_stats(const struct unwinder *u, struct uw_stats *st)
{
	*st = u->st;
	st->rules = hmap_count(u->rules);
}

static uint64_t section_bytes(Elf *e, const char *const *names)
{
	size_t shstrndx;
	uint64_t n = 0;

	if (elf_getshdrstrndx(e, &shstrndx))
		return 0;
	for (Elf_Scn *s = NULL; (s = elf_nextscn(e, s));) {
		GElf_Shdr sh;
		const char *nm;
		if (!gelf_getshdr(s, &sh) || !(nm = elf_strptr(e, shstrndx, sh.sh_name)))
			continue;
		for (const char *const *w = names; *w; w++)
			if (!strcmp(nm, *w))
				n += sh.sh_size;
	}
	return n;
}

/* Open a module's ELF and its CFI once; the build-id must be the mapped one. */
static struct umod *get_mod(struct unwinder *u, uint64_t id)
{
	static const char *const cfi_sections[] = { ".eh_frame", ".eh_frame_hdr", ".debug_frame",
						    NULL };
	const uint8_t *bid;
	size_t bid_len, nph;
	uint8_t fbid[BUILDID_MAX];

	if (id >= u->nmods) {
		size_t nc = u->nmods ? u->nmods : 64;
		while (nc <= id)
			nc *= 2;
		struct umod *nm = realloc(u->mods, nc * sizeof(*nm));
		if (!nm)
			return NULL;
		memset(nm + u->nmods, 0, (nc - u->nmods) * sizeof(*nm));
		u->mods = nm;
		u->nmods = nc;
	}
	struct umod *m = &u->mods[id];
	if (m->state)
		return m->state == 1 ? m : NULL;
	m->state = 2;
	u->st.modules++;
	const char *path = procs_module_file(u->procs, id, &bid, &bid_len);
	if (!path || path[0] != '/')
		goto fail;
	/* O_NONBLOCK and a regular file only: a process can put a FIFO at the
	 * path it mapped, which must not stall the recorder */
	struct stat sb;
	m->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (m->fd < 0 || fstat(m->fd, &sb) || !S_ISREG(sb.st_mode))
		goto fail;
	if (bid_len) {
		int n = buildid_read_fd(m->fd, fbid);
		if (n != (int)bid_len || memcmp(fbid, bid, bid_len))
			goto fail; /* not the binary that was mapped */
	}
	m->elf = elf_begin(m->fd, ELF_C_READ_MMAP, NULL);
	if (!m->elf || elf_kind(m->elf) != ELF_K_ELF || elf_getphdrnum(m->elf, &nph))
		goto fail;
	for (size_t i = 0; i < nph && m->nload < MAX_LOADS; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(m->elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			m->load[m->nload++] = (struct load){ ph.p_offset, ph.p_filesz, ph.p_vaddr };
	}
	m->eh = dwarf_getcfi_elf(m->elf);
	m->dw = dwarf_begin_elf(m->elf, DWARF_C_READ, NULL);
	m->dbg = m->dw ? dwarf_getcfi(m->dw) : NULL;
	if (!m->eh && !m->dbg)
		goto fail;
	u->st.module_bytes += section_bytes(m->elf, cfi_sections);
	/* The image is mapped: the descriptor is not needed any more, and one
	 * per module for the whole run would reach RLIMIT_NOFILE on a big host. */
	if (elf_cntl(m->elf, ELF_C_FDDONE) == 0) {
		close(m->fd);
		m->fd = -1;
	}
	m->state = 1;
	return m;
fail:
	umod_close(m);
	m->state = 2;
	u->st.modules_failed++;
	return NULL;
}

/* File offset -> the ELF virtual address CFI is keyed by. */
static int off_to_vaddr(const struct umod *m, uint64_t off, uint64_t *va)
{
	for (size_t i = 0; i < m->nload; i++)
		if (off >= m->load[i].off && off < m->load[i].off + m->load[i].filesz) {
			*va = off - m->load[i].off + m->load[i].vaddr;
			return 0;
		}
	return -1;
}

/* Offset N of a register rule "at CFA + N" as libdw hands it over: ops
 * [DW_OP_call_frame_cfa] or [DW_OP_call_frame_cfa, DW_OP_plus_uconst N]. */
static int cfa_offset_rule(const Dwarf_Op *ops, size_t nops, int64_t *off)
{
	if (nops < 1 || nops > 2 || ops[0].atom != OP_CALL_FRAME_CFA)
		return -1;
	if (nops == 1) {
		*off = 0;
		return 0;
	}
	if (ops[1].atom != OP_PLUS_UCONST)
		return -1;
	*off = (int64_t)ops[1].number; /* libdw stores negative offsets wrapped */
	return 0;
}

/* libdw's frame state at a pc -> a packed rule. */
static struct rule rule_from_frame(Dwarf_Frame *fr)
{
	struct rule r = { RULE_UNSUPPORTED, 0, BP_UNDEF, 0, 0, 0 };
	Dwarf_Op mem[3], *ops;
	size_t nops;
	int res;

	if (dwarf_frame_info(fr, NULL, NULL, NULL) != REG_RA)
		return r;
	res = dwarf_frame_register(fr, REG_RA, mem, &ops, &nops);
	if (res < 0)
		return r;
	if (nops == 0 && ops == mem) {
		/* The outermost frame: _start and clone3 mark the return address
		 * undefined (DW_CFA_undefined rip). */
		r.kind = RULE_END;
		return r;
	}
	if (cfa_offset_rule(ops, nops, &r.ra_off) || !fits(r.ra_off, 16))
		return r;
	if (dwarf_frame_cfa(fr, &ops, &nops) || nops != 1 || ops[0].atom != OP_BREGX ||
	    (ops[0].number != REG_SP && ops[0].number != REG_BP))
		return r; /* a CFA expression (PLT stubs): never a return address */
	r.cfa_reg = ops[0].number == REG_SP ? CFA_SP : CFA_BP;
	r.cfa_off = (int64_t)ops[0].number2;
	if (!fits(r.cfa_off, 24))
		return r;
	res = dwarf_frame_register(fr, REG_BP, mem, &ops, &nops);
	if (res >= 0 && nops == 0 && !ops)
		r.bp_how = BP_SAME;
	else if (res >= 0 && !cfa_offset_rule(ops, nops, &r.bp_off) && fits(r.bp_off, 16))
		r.bp_how = BP_AT;
	else
		r.bp_how = BP_UNDEF; /* the caller's rbp is lost: no FP step from there on */
	r.kind = RULE_OK;
	return r;
}

static struct rule lookup_rule(struct unwinder *u, uint64_t mod, uint64_t off)
{
	struct hkey k = hkey4(mod, off, 0, 0);
	uint64_t *v = hmap_get(u->rules, &k);
	struct rule r = { RULE_NOCFI, 0, BP_UNDEF, 0, 0, 0 };
	struct umod *m;
	uint64_t va;

	if (v)
		return rule_unpack(*v);
	u->st.rule_misses++;
	if (!(m = get_mod(u, mod))) {
		r.kind = RULE_NOMODULE;
	} else if (!off_to_vaddr(m, off, &va)) {
		Dwarf_Frame *fr = NULL;
		if ((m->eh && !dwarf_cfi_addrframe(m->eh, va, &fr)) ||
		    (m->dbg && !dwarf_cfi_addrframe(m->dbg, va, &fr))) {
			r = rule_from_frame(fr);
			free(fr);
		}
	}
	if (hmap_count(u->rules) >= UW_MAX_RULES) {
		/* The budget: start over rather than grow (counted, shown by -v
		 * and in the recording's unwind.* metadata). */
		hmap_free(u->rules);
		u->rules = hmap_new();
		u->st.cache_resets++;
		if (!u->rules)
			return r;
	}
	hmap_put(u->rules, &k, rule_pack(&r)); /* a failed insert only costs a later miss */
	return r;
}

struct slice {
	uint64_t sp;
	const uint8_t *data;
	uint32_t len;
};

static int rd(const struct slice *s, uint64_t addr, uint64_t *v)
{
	if (addr < s->sp || addr - s->sp > s->len || s->len - (addr - s->sp) < 8)
		return -1;
	memcpy(v, s->data + (addr - s->sp), 8);
	return 0;
}

static uint32_t beyond_copy(uint32_t copy_flags)
{
	return (copy_flags & SR_UC_CAP) ? SREC_STOP_COPY_LIMIT : SREC_STOP_UNREADABLE;
}

int unwind_copy(struct unwinder *u, uint32_t pid, uint64_t ts, uint64_t ip, uint64_t sp,
		uint64_t bp, const uint8_t *data, uint32_t len, uint32_t copy_flags,
		struct uw_stack *out)
{
	const struct slice s = { sp, data, len };
	uint64_t pc = ip, mod, off;
	int bp_ok = 1, used_cfi = 0, used_fp = 0, err = 0;

	memset(&out->how, 0, sizeof(out->how));
	out->n = 0;
	u->st.stacks++;
	mod = procs_normalize(u->procs, pid, pc, ts, &off, &err);
	if (err)
		return err;
	for (;;) {
		/* frame `pc` is real: record it, then find its caller */
		out->mods[out->n] = mod;
		out->offs[out->n] = (int64_t)off;
		out->n++;
		if (!mod) {
			out->how.stop = SREC_STOP_NO_MAPPING;
			out->how.stop_value = pc;
			break;
		}
		if (out->n == UW_MAX_FRAMES) {
			out->how.stop = SREC_STOP_STEP_LIMIT;
			break;
		}
		/* A return address points after its call: look up the call. */
		uint64_t loff = out->n > 1 ? off - 1 : off;
		struct rule r = lookup_rule(u, mod, loff);
		uint64_t cfa, ra, nbp = bp;
		int nbp_ok = bp_ok;

		if (r.kind == RULE_END) {
			out->how.stop = SREC_STOP_END;
			break;
		}
		if (r.kind == RULE_OK) {
			if (r.cfa_reg == CFA_BP && !bp_ok) {
				out->how.stop = SREC_STOP_CFI_UNSUPPORTED;
				out->how.stop_module = mod;
				out->how.stop_value = loff;
				break;
			}
			cfa = (r.cfa_reg == CFA_SP ? sp : bp) + (uint64_t)r.cfa_off;
			if (rd(&s, cfa + (uint64_t)r.ra_off, &ra)) {
				out->how.stop = beyond_copy(copy_flags);
				break;
			}
			if (r.bp_how == BP_AT)
				nbp_ok = !rd(&s, cfa + (uint64_t)r.bp_off, &nbp);
			else if (r.bp_how == BP_UNDEF)
				nbp_ok = 0;
			used_cfi = 1;
		} else {
			/* No usable CFI here: one frame-pointer step, only on a
			 * chain that is plausibly real. */
			uint64_t saved;
			if (!bp_ok || bp < sp || (bp & 7) || rd(&s, bp, &saved) || rd(&s, bp + 8, &ra) ||
			    (saved && saved <= bp)) {
				out->how.stop = r.kind == RULE_NOMODULE ? SREC_STOP_NO_MODULE :
						r.kind == RULE_UNSUPPORTED ? SREC_STOP_CFI_UNSUPPORTED :
									  SREC_STOP_NO_CFI;
				out->how.stop_module = mod;
				out->how.stop_value = loff;
				break;
			}
			cfa = bp + 16;
			nbp = saved;
			nbp_ok = saved != 0;
			used_fp = 1;
			u->st.fp_steps++;
		}
		if (!ra) {
			out->how.stop = SREC_STOP_END; /* a zeroed return address ends the chain */
			break;
		}
		if (cfa <= sp) {
			out->how.stop = SREC_STOP_BAD_FRAME;
			break;
		}
		pc = ra;
		sp = cfa;
		bp = nbp;
		bp_ok = nbp_ok;
		mod = procs_normalize(u->procs, pid, pc, ts, &off, &err);
		if (err)
			return err;
		if (!mod) {
			/* Not a frame: an address in no mapping is never shown. */
			out->how.stop = SREC_STOP_NO_MAPPING;
			out->how.stop_value = pc;
			break;
		}
	}
	out->how.method = used_fp ? (used_cfi ? SREC_UNWIND_MIXED : SREC_UNWIND_FP) :
				    SREC_UNWIND_CFI;
	u->st.frames += out->n;
	u->st.by_stop[out->how.stop]++;
	return 0;
}
