/* hostmeta.c - uname, boot id, build-id, clocks. */
#include "hostmeta.h"
#include "buildid.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef SOCKREC_VERSION
#define SOCKREC_VERSION "0.1.0"
#endif

uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int hostmeta_write(struct srec_writer *w, int argc, char **argv, char *machine, size_t mlen)
{
	struct utsname u;
	char boot_id[64] = "";
	uint8_t bid[BUILDID_MAX];
	int err = 0, n;

	if (uname(&u) == 0) {
		err = err ? err : srec_writer_meta_str(w, "host.name", u.nodename);
		err = err ? err : srec_writer_meta_str(w, "host.kernel", u.release);
		err = err ? err : srec_writer_meta_str(w, "host.arch", u.machine);
		snprintf(machine, mlen, "%s", u.machine);
	}
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t k = read(fd, boot_id, sizeof(boot_id) - 1);
		boot_id[k > 0 ? k : 0] = 0;
		boot_id[strcspn(boot_id, "\n")] = 0;
		close(fd);
	}
	err = err ? err : srec_writer_meta_str(w, "host.boot_id", boot_id);
	err = err ? err : srec_writer_meta_u64(w, "host.ncpus", (uint64_t)sysconf(_SC_NPROCESSORS_ONLN));
	err = err ? err : srec_writer_meta_u64(w, "host.page_size", (uint64_t)sysconf(_SC_PAGESIZE));
	err = err ? err : srec_writer_meta_str(w, "recorder.version", "sockrec " SOCKREC_VERSION);

	size_t len = 0;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *cmd = malloc(len + 1);
	if (!cmd)
		return -2;
	cmd[0] = 0;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}
	err = err ? err : srec_writer_meta_str(w, "recorder.cmdline", cmd);
	free(cmd);

	n = buildid_read_kernel(bid);
	if (n > 0) {
		char hex[2 * BUILDID_MAX + 1];
		for (int i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", bid[i]);
		err = err ? err : srec_writer_meta_str(w, "kernel.build_id", hex);
	}
	uint64_t m = mono_ns(), r = real_ns();
	err = err ? err : srec_writer_meta_u64(w, "clock.monotonic_ns", m);
	err = err ? err : srec_writer_meta_u64(w, "clock.realtime_ns", r);
	return err;
}
