/* privs.c - capset(2) and the bounding set, without libcap. */
#include "privs.h"
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

/* CAP_BPF: kernels before 6.5 refuse every bpf(2) command, map lookups on
 * fds we already hold included, without it when unprivileged BPF is off. */
static const int keep[] = { CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_BPF,
			    CAP_CHECKPOINT_RESTORE };

static int kept(int cap)
{
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (keep[i] == cap)
			return 1;
	return 0;
}

int privs_drop(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	/* Bounding set first (needs CAP_SETPCAP, which we still have).
	 * EINVAL: past the last capability this kernel knows. */
	for (int c = 0; c <= 63; c++) {
		if (kept(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
			if (errno == EINVAL)
				break;
			return -errno;
		}
	}
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		int c = keep[i];
		d[c / 32].effective |= 1u << (c % 32);
		d[c / 32].permitted |= 1u << (c % 32);
	}
	if (syscall(SYS_capset, &h, d) != 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	return 0;
}
