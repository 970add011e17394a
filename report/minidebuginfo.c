/* minidebuginfo.c - .gnu_debugdata through liblzma (see minidebuginfo.h). */
#include "minidebuginfo.h"

#include <errno.h>
#include <gelf.h>
#include <lzma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The raw bytes of section .gnu_debugdata, or NULL. */
static Elf_Data *debugdata(Elf *e)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(e, &shstrndx) != 0)
		return NULL;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(name = elf_strptr(e, shstrndx, sh.sh_name)) || strcmp(name, ".gnu_debugdata"))
			continue;
		return elf_rawdata(scn, NULL);
	}
	return NULL;
}

/* xz stream -> malloc'd buffer, growing up to MDI_MAX_SIZE. */
static int unxz(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen, char *why,
		size_t whysz)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r = lzma_stream_decoder(&s, MDI_MAX_SIZE, 0);
	if (r != LZMA_OK) {
		snprintf(why, whysz, "liblzma: cannot start a decoder (%d)", (int)r);
		return r == LZMA_MEM_ERROR ? -ENOMEM : 1;
	}
	size_t cap = inlen * 4 < (1u << 20) ? (1u << 20) : inlen * 4;
	if (cap > MDI_MAX_SIZE)
		cap = MDI_MAX_SIZE;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		lzma_end(&s);
		return -ENOMEM;
	}
	s.next_in = in;
	s.avail_in = inlen;
	s.next_out = buf;
	s.avail_out = cap;
	int rc = 0;
	for (;;) {
		r = lzma_code(&s, LZMA_FINISH);
		if (r == LZMA_STREAM_END)
			break;
		if (r == LZMA_OK && s.avail_out == 0) {
			if (cap >= MDI_MAX_SIZE) {
				snprintf(why, whysz, "decompresses to more than %u MiB", MDI_MAX_SIZE >> 20);
				rc = 1;
				break;
			}
			size_t nc = cap * 2 > MDI_MAX_SIZE ? MDI_MAX_SIZE : cap * 2;
			uint8_t *nb = realloc(buf, nc);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			s.next_out = buf + cap;
			s.avail_out = nc - cap;
			cap = nc;
			continue;
		}
		if (r == LZMA_MEM_ERROR) {
			rc = -ENOMEM;
			break;
		}
		/* LZMA_OK with input left but no progress cannot happen with
		 * LZMA_FINISH; everything else is damaged or not xz */
		snprintf(why, whysz, "not a valid xz stream (liblzma %d)", (int)r);
		rc = 1;
		break;
	}
	*outlen = cap - s.avail_out;
	lzma_end(&s);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

int mdi_open(Elf *e, Elf **out, void **buf, char *why, size_t whysz)
{
	*out = NULL;
	*buf = NULL;
	Elf_Data *d = debugdata(e);
	if (!d || !d->d_buf || !d->d_size) {
		snprintf(why, whysz, "no .gnu_debugdata section data");
		return 1;
	}
	uint8_t *img = NULL;
	size_t len = 0;
	int rc = unxz(d->d_buf, d->d_size, &img, &len, why, whysz);
	if (rc)
		return rc;
	Elf *inner = elf_memory((char *)img, len);
	if (!inner || elf_kind(inner) != ELF_K_ELF) {
		snprintf(why, whysz, "the decompressed data is not an ELF file");
		if (inner)
			elf_end(inner);
		free(img);
		return 1;
	}
	*out = inner;
	*buf = img;
	return 0;
}
