/* minidebuginfo.h - MiniDebugInfo: the .gnu_debugdata section of Fedora's
 * and RHEL's stripped binaries, an xz-compressed ELF file holding the
 * .symtab of the functions that .dynsym lacks (see gdb's "MiniDebugInfo";
 * made by find-debuginfo with nm, objcopy --keep-symbols, xz and objcopy
 * --add-section).  Decompressed with liblzma, read with libelf.
 */
#ifndef SOCKREPORT_MINIDEBUGINFO_H
#define SOCKREPORT_MINIDEBUGINFO_H
#include <libelf.h>
#include <stddef.h>

/* Largest decompressed image accepted: the section comes from a file that
 * is not trusted, and real ones are a few MB at most. */
#define MDI_MAX_SIZE (256u << 20)

/* The ELF image inside e's .gnu_debugdata.  0: *out is an Elf over *buf
 * (release with elf_end(*out) and then free(*buf)); 1: no usable section
 * (*why says why); -ENOMEM. */
int mdi_open(Elf *e, Elf **out, void **buf, char *why, size_t whysz);

#endif
