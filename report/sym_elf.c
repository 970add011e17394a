/* sym_elf.c - ELF inspection, program headers and symbol tables (symbolize_int.h). */
#include "symbolize_int.h"

/* ------------------------------------------------------------------ */
/* ELF inspection                                                      */


void efile_close(struct efile *f)
{
	if (f->elf)
		elf_end(f->elf);
	f->elf = NULL;
	free(f->real);
	f->real = NULL;
}

static size_t notes_build_id(Elf_Data *d, uint8_t *out)
{
	size_t off = 0, noff, doff;
	GElf_Nhdr nh;
	while (off < d->d_size &&
	       (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((const char *)d->d_buf + noff, "GNU", 4) == 0 &&
		    nh.n_descsz > 0 && nh.n_descsz <= MAX_BID) {
			memcpy(out, (const char *)d->d_buf + doff, nh.n_descsz);
			return nh.n_descsz;
		}
	}
	return 0;
}

static int bss_like(const char *name)
{
	static const char *const names[] = { ".bss", ".tbss", ".sbss", ".lbss" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (strncmp(name, names[i], n) == 0 && (name[n] == '\0' || name[n] == '.'))
			return 1;
	}
	return 0;
}

/* Fills the build-id and the section facts of f->elf. */
void inspect(struct efile *f)
{
	Elf *e = f->elf;
	size_t shstrndx = 0;
	int have_shstr = elf_getshdrstrndx(e, &shstrndx) == 0;
	int sections = 0;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	int big = gelf_getehdr(e, &eh) && eh.e_ident[EI_DATA] == ELFDATA2MSB;

	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		sections = 1;
		const char *name = have_shstr ? elf_strptr(e, shstrndx, sh.sh_name) : NULL;
		if (!name)
			name = "";
		if (sh.sh_type == SHT_NOTE && f->bid_len == 0 && !(sh.sh_flags & SHF_COMPRESSED)) {
			Elf_Data *d = elf_getdata(scn, NULL);
			if (d && d->d_buf)
				f->bid_len = notes_build_id(d, f->bid);
		} else if (sh.sh_type == SHT_SYMTAB && sh.sh_entsize &&
			   sh.sh_size > sh.sh_entsize) {
			f->has_symtab = 1;
		} else if (sh.sh_type == SHT_DYNSYM && sh.sh_entsize &&
			   sh.sh_size > sh.sh_entsize) {
			f->has_dynsym = 1;
		} else if (sh.sh_type != SHT_NOBITS && sh.sh_size > 0 &&
			   (strcmp(name, ".debug_info") == 0 || strcmp(name, ".zdebug_info") == 0)) {
			f->has_dwarf = 1;
		} else if (sh.sh_type == SHT_NOBITS && strcmp(name, ".text") == 0) {
			f->debug_only = 1;
		} else if (sh.sh_type != SHT_NOBITS && sh.sh_size > 0 &&
			   strcmp(name, ".gnu_debugdata") == 0) {
			f->has_debugdata = 1;
		} else if (sh.sh_type != SHT_NOBITS && strcmp(name, ".gnu_debuglink") == 0 &&
			   !(sh.sh_flags & SHF_COMPRESSED)) {
			Elf_Data *d = elf_getdata(scn, NULL);
			if (!d || !d->d_buf)
				continue;
			const char *s = d->d_buf;
			size_t n = strnlen(s, d->d_size);
			size_t crcoff = (n + 4) & ~(size_t)3;
			if (n == 0 || n >= sizeof(f->debuglink) || crcoff + 4 > d->d_size)
				continue;
			const unsigned char *b = (const unsigned char *)s + crcoff;
			f->debuglink_crc = big ?
				((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) :
				((uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0]);
			memcpy(f->debuglink, s, n + 1);
			f->has_debuglink = 1;
		}
	}
	size_t nph = 0;
	if (elf_getphdrnum(e, &nph) != 0)
		nph = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph))
			continue;
		/* a read-only segment never has a bss: objcopy --only-keep-debug
		 * zeroed its p_filesz */
		if (ph.p_type == PT_LOAD && !(ph.p_flags & PF_W) && ph.p_filesz < ph.p_memsz)
			f->debug_only = 1;
		if (!sections && ph.p_type == PT_NOTE && f->bid_len == 0) {
			Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset,
							   ph.p_filesz, ELF_T_NHDR);
			if (d && d->d_buf)
				f->bid_len = notes_build_id(d, f->bid);
		}
	}
}

/* Section data, decompressed when SHF_COMPRESSED; NULL if unusable. */
Elf_Data *section_data(Elf_Scn *scn)
{
	GElf_Shdr sh;
	if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
		return NULL;
	if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
		return NULL;
	return elf_getdata(scn, NULL);
}

/* ------------------------------------------------------------------ */
/* program headers                                                     */

int read_loads(struct sym_ctx *c, struct module *m, Elf *e, int rebuild)
{
	size_t nph = 0;
	if (elf_getphdrnum(e, &nph) != 0)
		return 0;
	struct load *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t prev_end = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		struct load *nv = grow(v, &cap, n + 1, sizeof(*v));
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		struct load l = { ph.p_offset, ph.p_filesz, ph.p_vaddr, ph.p_memsz };
		if (rebuild) {
			/* the ELF rule: p_offset == p_vaddr modulo p_align */
			uint64_t page = 4096;
			if (ph.p_align > 1 && !(ph.p_align & (ph.p_align - 1)))
				page = ph.p_align;
			uint64_t filesz = ph.p_memsz;
			if (ph.p_flags & PF_W) {
				/* the file part ends with the last section that is
				 * not a bss */
				uint64_t end = 0;
				size_t shstrndx = 0;
				int have = elf_getshdrstrndx(e, &shstrndx) == 0;
				Elf_Scn *scn = NULL;
				while ((scn = elf_nextscn(e, scn)) != NULL) {
					GElf_Shdr sh;
					if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
						continue;
					const char *nm = have ? elf_strptr(e, shstrndx, sh.sh_name) : NULL;
					if (!nm || bss_like(nm))
						continue;
					if (sh.sh_addr >= ph.p_vaddr && sh.sh_addr < ph.p_vaddr + ph.p_memsz &&
					    sh.sh_addr + sh.sh_size - ph.p_vaddr > end)
						end = sh.sh_addr + sh.sh_size - ph.p_vaddr;
				}
				if (end && end < filesz)
					filesz = end;
			}
			l.off = prev_end + ((ph.p_vaddr - prev_end) & (page - 1));
			l.filesz = filesz;
			prev_end = l.off + filesz;
			vlog(c, "  PT_LOAD vaddr 0x%llx rebuilt at file offset 0x%llx size 0x%llx",
			     (unsigned long long)l.vaddr, (unsigned long long)l.off,
			     (unsigned long long)l.filesz);
		}
		v[n++] = l;
	}
	m->loads = v;
	m->nloads = n;
	return 0;
}

int off_to_vaddr(const struct module *m, uint64_t off, uint64_t *vaddr)
{
	/* exact file part first, then its page-rounded start (a mapping
	 * begins at p_offset rounded down to the page) */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < m->nloads; i++) {
			const struct load *l = &m->loads[i];
			uint64_t start = pass ? (l->off & ~(uint64_t)4095) : l->off;
			if (off >= start && off - l->off + (l->off - start) < l->filesz + (l->off - start)) {
				*vaddr = off - l->off + l->vaddr;
				return 0;
			}
		}
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* ELF symbols                                                         */


static int lead_us(const char *s)
{
	int n = 0;
	while (n < 4 && s[n] == '_')
		n++;
	return n;
}

/* Best name first for equal addresses. */
static int rawsym_cmp(const void *pa, const void *pb)
{
	const struct rawsym *a = pa, *b = pb;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->sized != b->sized)
		return b->sized - a->sized;
	int fa = a->type == STT_FUNC, fb = b->type == STT_FUNC;
	if (fa != fb)
		return fb - fa;
	static const int rank[] = { [STB_LOCAL] = 0, [STB_GLOBAL] = 2, [STB_WEAK] = 1 };
	int ra = a->bind <= STB_WEAK ? rank[a->bind] : 0;
	int rb = b->bind <= STB_WEAK ? rank[b->bind] : 0;
	if (ra != rb)
		return rb - ra;
	int ua = lead_us(a->name), ub = lead_us(b->name);
	if (ua != ub)
		return ua - ub;
	return strcmp(a->name, b->name);
}

int collect_syms(Elf *e, Elf64_Word type, struct rawsym **v, size_t *n,
			size_t *cap)
{
	GElf_Ehdr eh;
	if (!gelf_getehdr(e, &eh))
		return 0;
	size_t symsz = gelf_fsize(e, ELF_T_SYM, 1, EV_CURRENT);
	if (!symsz)
		return 0;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type)
			continue;
		Elf_Data *d = section_data(scn);
		Elf_Scn *strscn = elf_getscn(e, sh.sh_link);
		if (!d || !d->d_buf || !strscn || !section_data(strscn))
			continue;
		size_t cnt = d->d_size / symsz;
		for (size_t i = 1; i < cnt; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s))
				continue;
			unsigned t = GELF_ST_TYPE(s.st_info);
			if (!(t == STT_FUNC || ((t == STT_GNU_IFUNC || t == STT_NOTYPE) && s.st_size)))
				continue;
			if (s.st_shndx == SHN_UNDEF ||
			    (s.st_shndx >= SHN_LORESERVE && s.st_shndx != SHN_XINDEX))
				continue;
			uint64_t addr = s.st_value;
			if (eh.e_machine == EM_ARM)
				addr &= ~(uint64_t)1;
			if (addr == 0)
				continue;
			const char *name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || !*name)
				continue;
			uint64_t secend = 0;
			if (s.st_shndx != SHN_XINDEX) {
				GElf_Shdr ssh;
				Elf_Scn *ss = elf_getscn(e, s.st_shndx);
				if (ss && gelf_getshdr(ss, &ssh) && (ssh.sh_flags & SHF_ALLOC) &&
				    addr >= ssh.sh_addr && addr < ssh.sh_addr + ssh.sh_size)
					secend = ssh.sh_addr + ssh.sh_size;
			}
			struct rawsym *nv = grow(*v, cap, *n + 1, sizeof(**v));
			if (!nv)
				return -ENOMEM;
			*v = nv;
			nv[(*n)++] = (struct rawsym){ addr, s.st_size, secend, name, (unsigned char)t,
						      (unsigned char)GELF_ST_BIND(s.st_info),
						      s.st_size != 0 };
		}
	}
	return 0;
}

/* Sorts, deduplicates and copies the names into the arena. */
int build_syms(struct sym_ctx *c, struct module *m, struct rawsym *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), rawsym_cmp);
	struct esym *out = calloc(n, sizeof(*out));
	if (!out)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && out[k - 1].addr == v[i].addr) {
			uint64_t e = v[i].addr + v[i].size;
			if (v[i].size && e > out[k - 1].end)
				out[k - 1].end = e;
			continue;
		}
		const char *nm = arena_strdup(&c->str, v[i].name);
		if (!nm) {
			free(out);
			return -ENOMEM;
		}
		out[k].addr = v[i].addr;
		out[k].end = v[i].size ? v[i].addr + v[i].size : 0;
		out[k].name = nm;
		/* zero-size: up to the next symbol, within its section */
		if (!v[i].size) {
			uint64_t end = v[i].secend;
			size_t j = i + 1;
			while (j < n && v[j].addr == v[i].addr)
				j++;
			if (j < n && (!end || v[j].addr < end))
				end = v[j].addr;
			out[k].end = end > v[i].addr ? end : v[i].addr + 1;
		}
		k++;
	}
	m->syms = out;
	m->nsyms = k;
	return 0;
}

struct esym *find_sym(struct module *m, uint64_t a)
{
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, k = 0; i > 0 && k < BACK_SCAN; i--, k++)
		if (a < m->syms[i - 1].end)
			return &m->syms[i - 1];
	return NULL;
}
