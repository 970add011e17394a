/* elfsyms.c - libelf symbol tables, keyed by file offset. */
#include "elfsyms.h"
#include "buildid.h"
#include "../report/minidebuginfo.h"
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct elfsyms {
	struct esym *s;
	size_t n;
};

static int cmp(const void *a, const void *b)
{
	const struct esym *x = a, *y = b;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->size > y->size ? -1 : x->size < y->size; /* larger first */
}

/* ELF virtual address -> file offset, through the PT_LOAD that maps it. */
static int vaddr_to_off(Elf *e, size_t nph, uint64_t va, uint64_t *off)
{
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (va >= ph.p_vaddr && va < ph.p_vaddr + ph.p_filesz) {
			*off = va - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -1;
}

/* The function symbols of table scn of e; ph: the ELF file whose program
 * headers place them (e itself, or the binary around a MiniDebugInfo). */
static int add_table(struct elfsyms *t, size_t *cap, Elf *e, Elf_Scn *scn, Elf *ph, size_t nph)
{
	GElf_Shdr sh;
	Elf_Data *d;

	if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
		return 0;
	size_t n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		uint64_t off;
		if (!gelf_getsym(d, (int)i, &sym))
			continue;
		int type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !sym.st_size ||
		    sym.st_shndx == SHN_UNDEF)
			continue;
		const char *name = elf_strptr(e, sh.sh_link, sym.st_name);
		if (!name || !name[0] || vaddr_to_off(ph, nph, sym.st_value, &off))
			continue;
		if (t->n == *cap) {
			size_t nc = *cap ? *cap * 2 : 1024;
			struct esym *ns = realloc(t->s, nc * sizeof(*ns));
			if (!ns)
				return -1;
			t->s = ns;
			*cap = nc;
		}
		char *nm = strdup(name);
		if (!nm)
			return -1;
		t->s[t->n++] = (struct esym){ off, sym.st_size, nm, 0 };
	}
	return 0;
}

void elfsyms_free(struct elfsyms *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free((char *)t->s[i].name);
	free(t->s);
	free(t);
}

struct elfsyms *elfsyms_load(const char *path, const uint8_t *bid, size_t bid_len)
{
	struct elfsyms *t = NULL;
	size_t cap = 0, nph = 0;
	uint8_t fbid[BUILDID_MAX];
	Elf *e = NULL;
	int fd;

	if (!path || path[0] != '/' || elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (bid_len) {
		int n = buildid_read_fd(fd, fbid);
		if (n != (int)bid_len || memcmp(fbid, bid, bid_len))
			goto fail; /* not the binary that was mapped */
	}
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &nph))
		goto fail;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto fail;
	int have_symtab = 0;
	for (Elf_Scn *s = NULL; (s = elf_nextscn(e, s));) {
		GElf_Shdr sh;
		if (gelf_getshdr(s, &sh) && (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM)) {
			have_symtab |= sh.sh_type == SHT_SYMTAB;
			if (add_table(t, &cap, e, s, e, nph))
				goto fail;
		}
	}
	if (!have_symtab) {
		/* Fedora/RHEL: the functions .dynsym lacks, in .gnu_debugdata */
		Elf *mini = NULL;
		void *buf = NULL;
		char why[128];
		int r = mdi_open(e, &mini, &buf, why, sizeof(why));
		for (Elf_Scn *s = NULL; r == 0 && (s = elf_nextscn(mini, s));) {
			GElf_Shdr sh;
			if (gelf_getshdr(s, &sh) && sh.sh_type == SHT_SYMTAB)
				r = add_table(t, &cap, mini, s, e, nph);
		}
		if (mini)
			elf_end(mini);
		free(buf);
		if (r < 0)
			goto fail;
	}
	if (!t->n)
		goto fail;
	qsort(t->s, t->n, sizeof(*t->s), cmp);
	/* .symtab and .dynsym repeat each other: keep one entry per start. */
	size_t w = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (w && t->s[w - 1].off == t->s[i].off) {
			free((char *)t->s[i].name);
			continue;
		}
		t->s[w] = t->s[i];
		t->s[w].index = (uint32_t)w;
		w++;
	}
	t->n = w;
	elf_end(e);
	close(fd);
	return t;
fail:
	elfsyms_free(t);
	if (e)
		elf_end(e);
	close(fd);
	return NULL;
}

const struct esym *elfsyms_find(const struct elfsyms *t, uint64_t off)
{
	size_t lo = 0, hi;

	if (!t || !t->n || off < t->s[0].off)
		return NULL;
	hi = t->n;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (t->s[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	const struct esym *s = &t->s[lo];
	return off - s->off < s->size ? s : NULL;
}
