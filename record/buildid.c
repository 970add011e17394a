/* buildid.c - NT_GNU_BUILD_ID from ELF notes, through libelf. */
#include "buildid.h"
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

/* Scan a buffer of ELF notes (native layout) for the GNU build-id. */
static int scan_notes(Elf_Data *d, uint8_t out[BUILDID_MAX])
{
	size_t off = 0, noff, doff;
	GElf_Nhdr nh;

	while (d && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((char *)d->d_buf + noff, "GNU", 4) == 0 && nh.n_descsz > 0 &&
		    nh.n_descsz <= BUILDID_MAX) {
			memcpy(out, (char *)d->d_buf + doff, nh.n_descsz);
			return (int)nh.n_descsz;
		}
	}
	return 0;
}

int buildid_read_fd(int fd, uint8_t out[BUILDID_MAX])
{
	int ret = 0;
	size_t n;
	Elf *e;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return 0;
	if (elf_kind(e) != ELF_K_ELF)
		goto out;
	if (elf_getphdrnum(e, &n) == 0) {
		for (size_t i = 0; i < n && !ret; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
				continue;
			Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz,
							   ELF_T_NHDR);
			ret = scan_notes(d, out);
		}
	}
	for (Elf_Scn *s = NULL; !ret && (s = elf_nextscn(e, s));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(s, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		ret = scan_notes(elf_getdata(s, NULL), out);
	}
out:
	elf_end(e);
	return ret;
}

int buildid_read_path(const char *path, uint8_t out[BUILDID_MAX])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = buildid_read_fd(fd, out);
	close(fd);
	return r;
}

int buildid_read_kernel(uint8_t out[BUILDID_MAX])
{
	/* /sys/kernel/notes is the raw note section of vmlinux. */
	uint8_t buf[4096];
	int fd = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t off = 0;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return -errno;
	while (off + 12 <= (size_t)n) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, buf + off, 4);
		memcpy(&descsz, buf + off + 4, 4);
		memcpy(&type, buf + off + 8, 4);
		size_t name_off = off + 12;
		size_t desc_off = name_off + ((namesz + 3u) & ~3u);
		size_t next = desc_off + ((descsz + 3u) & ~3u);
		if (next > (size_t)n || next <= off)
			break;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(buf + name_off, "GNU", 4) == 0 &&
		    descsz > 0 && descsz <= BUILDID_MAX) {
			memcpy(out, buf + desc_off, descsz);
			return (int)descsz;
		}
		off = next;
	}
	return 0;
}
