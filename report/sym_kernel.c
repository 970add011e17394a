/* sym_kernel.c - kernel frames against a --vmlinux with DWARF (symbolize_int.h). */
#include "symbolize_int.h"

/* ------------------------------------------------------------------ */
/* kernel frames (--vmlinux)                                           */

/* Link-time address of _text: the .symtab symbol, else the start of the
 * first executable PT_LOAD.  0, or -1 when neither exists. */
static int kernel_text(struct sym_ctx *c, Elf *e, uint64_t *out)
{
	size_t symsz = gelf_fsize(e, ELF_T_SYM, 1, EV_CURRENT);
	Elf_Scn *scn = NULL;
	while (symsz && (scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = section_data(scn);
		if (!d || !d->d_buf)
			continue;
		size_t cnt = d->d_size / symsz;
		for (size_t i = 1; i < cnt; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
				continue;
			const char *name = elf_strptr(e, sh.sh_link, s.st_name);
			if (name && strcmp(name, "_text") == 0) {
				*out = s.st_value;
				vlog(c, "  _text at 0x%llx (from .symtab)", (unsigned long long)*out);
				return 0;
			}
		}
	}
	size_t nph = 0;
	if (elf_getphdrnum(e, &nph) != 0)
		nph = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			*out = ph.p_vaddr;
			vlog(c, "  no _text symbol: _text taken as 0x%llx, the first executable "
			     "PT_LOAD", (unsigned long long)*out);
			return 0;
		}
	}
	return -1;
}

/* Opens c->vmlinux for kernel m (m->bid: the recorded build-id) and sets
 * m->status and m->why.  0 or -ENOMEM. */
static int load_kernel(struct sym_ctx *c, struct module *m)
{
	char want[2 * MAX_BID + 1], have[2 * MAX_BID + 1], why[PATH_MAX + 64], msg[PATH_MAX + 400];
	hex_of(m->bid, m->bid_len, want, sizeof(want));
	m->status = SYM_NOT_FOUND;
	m->why = "";
	if (!c->vmlinux)
		return 0;
	vlog(c, "kernel build-id %s: --vmlinux %s", m->bid_len ? want : "(none recorded)",
	     c->vmlinux);
	struct efile f;
	memset(&f, 0, sizeof(f));
	int r = open_elf(c->vmlinux, NULL, &f.elf, NULL, why, sizeof(why));
	if (r < 0)
		return r;
	msg[0] = '\0';
	if (r != OPEN_OK) {
		m->status = r == OPEN_MISSING ? SYM_NOT_FOUND : SYM_BAD_FILE;
		snprintf(msg, sizeof(msg), "%s: not used: %s", c->vmlinux, why);
	} else {
		inspect(&f);
		hex_of(f.bid, f.bid_len, have, sizeof(have));
		m->status = SYM_BUILDID_MISMATCH;
		if (!m->bid_len)
			snprintf(msg, sizeof(msg), "%s: not used: the recording has no kernel "
				 "build-id to check it against", c->vmlinux);
		else if (!f.bid_len)
			snprintf(msg, sizeof(msg), "%s: not used: it has no build-id note "
				 "(the recording's kernel is %s)", c->vmlinux, want);
		else if (f.bid_len != m->bid_len || memcmp(f.bid, m->bid, m->bid_len) != 0)
			snprintf(msg, sizeof(msg), "%s: not used: build-id mismatch: the file is %s, "
				 "the recording's kernel is %s", c->vmlinux, have, want);
		else if (!f.has_symtab && !f.has_dwarf) {
			m->status = SYM_BAD_FILE;
			snprintf(msg, sizeof(msg), "%s: not used: it has neither .symtab nor DWARF",
				 c->vmlinux);
		} else if (kernel_text(c, f.elf, &m->ktext) != 0) {
			m->status = SYM_BAD_FILE;
			snprintf(msg, sizeof(msg), "%s: not used: no _text symbol and no executable "
				 "segment", c->vmlinux);
		} else {
			m->status = SYM_OK;
		}
	}
	int rc = 0;
	if (m->status != SYM_OK) {
		vlog(c, "  %s", msg);
		m->why = arena_strdup(&c->str, msg);
		if (!m->why)
			rc = -ENOMEM;
		efile_close(&f);
		return rc;
	}
	char what[128];
	describe(&f, what, sizeof(what));
	vlog(c, "  %s: accepted: build-id matches;%s", c->vmlinux, what);
	m->why = "";
	m->used_path = arena_strdup(&c->str, c->vmlinux);
	if (!m->used_path)
		rc = -ENOMEM;
	struct rawsym *rv = NULL;
	size_t rn = 0, rcap = 0;
	if (rc == 0 && f.has_symtab)
		rc = collect_syms(f.elf, SHT_SYMTAB, &rv, &rn, &rcap);
	if (rc == 0)
		rc = build_syms(c, m, rv, rn);
	free(rv);
	if (rc == 0)
		vlog(c, "  %zu function symbols", m->nsyms);
	if (rc == 0 && f.has_dwarf) {
		Elf *e = f.elf;
		f.elf = NULL;
		rc = dw_open(c, e, 1, &m->dw);
	}
	efile_close(&f);
	return rc;
}

static int get_kernel(struct sym_ctx *c, const uint8_t *bid, size_t len, struct module **out)
{
	struct module *m;
	for (m = c->kernels; m; m = m->next) {
		if (m->bid_len == len && (!len || memcmp(m->bid, bid, len) == 0)) {
			*out = m;
			return 0;
		}
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->bid_len = len;
	if (len)
		memcpy(m->bid, bid, len);
	m->path = m->display = "kernel";
	int rc = load_kernel(c, m);
	if (rc) {
		module_free(m);
		return rc;
	}
	m->next = c->kernels;
	c->kernels = m;
	*out = m;
	return 0;
}

int sym_kernel_check(struct sym_ctx *c, const uint8_t *build_id, size_t build_id_len,
		     enum sym_status *status, const char **why)
{
	if (!c || !status || !why || build_id_len > MAX_BID || (build_id_len && !build_id))
		return -EINVAL;
	struct module *m = NULL;
	int rc = get_kernel(c, build_id, build_id_len, &m);
	if (rc)
		return rc;
	*status = m->status;
	*why = m->why ? m->why : "";
	return 0;
}

int sym_kernel_lookup(struct sym_ctx *c, const uint8_t *build_id, size_t build_id_len,
		      int64_t text_off, int is_return_addr, struct sym_result *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->status = SYM_NOT_FOUND;
	out->module = "kernel";
	if (!c || build_id_len > MAX_BID || (build_id_len && !build_id))
		return -EINVAL;
	struct module *m = NULL;
	int rc = get_kernel(c, build_id, build_id_len, &m);
	if (rc)
		return rc;
	out->status = m->status;
	if (m->status != SYM_OK)
		return 0;
	out->used_path = m->used_path;
	/* KASLR slides the whole image: offsets from _text carry over */
	uint64_t rec = m->ktext + (uint64_t)text_off;
	uint64_t q = is_return_addr && rec > 0 ? rec - 1 : rec;
	rc = resolve(c, m, q, rec, out);
	if (rc) {
		memset(out, 0, sizeof(*out));
		out->status = SYM_NOT_FOUND;
		out->module = "kernel";
	}
	return rc;
}
