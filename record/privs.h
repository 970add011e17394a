/* privs.h - give up what sockrec no longer needs once it is recording.
 *
 * After the BPF programs are attached, the perf side-band buffers are open
 * and the socket snapshot is taken, everything left is reading: the ring
 * buffers and maps through fds it already holds, /proc/PID/maps and
 * map_files of other processes, and the binaries they map.  privs_drop()
 * keeps CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_BPF and
 * CAP_CHECKPOINT_RESTORE (map_files) and drops every other capability from
 * the effective, permitted, inheritable and bounding sets, then sets
 * no_new_privs.  Returns 0, or -errno (the recorder warns and goes on).
 */
#ifndef SOCKREC_PRIVS_H
#define SOCKREC_PRIVS_H

int privs_drop(void);

#endif
