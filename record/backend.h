/* backend.h - choose, load and attach the BPF side.
 *
 * The kernel hooks for a socket's alloc and release come in three kinds,
 * tried best first (fentry -> kprobe -> tracepoint) unless one is forced.
 * A candidate is probed (a tiny program actually loaded and attached, as
 * libbpf-tools' fentry_can_attach() does) and then the whole object is
 * loaded with only that backend's programs autoloaded; if that fails in
 * auto mode the next candidate is tried.  Every decision is logged with -v.
 */
#ifndef SOCKREC_BACKEND_H
#define SOCKREC_BACKEND_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum backend { BACKEND_AUTO = 0, BACKEND_FENTRY, BACKEND_KPROBE, BACKEND_TRACEPOINT };

struct sockrec_bpf;

struct bpf_config {
	uint32_t stack_policy;
	bool filter_pids;
	const uint32_t *pids;   /* initial tracked tgids */
	int npids;
	const char *comm;       /* NULL: no comm filter */
	uint64_t cgroup_id;
	uint32_t netns;
	uint32_t ringbuf_bytes; /* power of two, >= page size */
	uint32_t stack_entries;
	uint32_t self_tgid;
	int32_t nr_socket, nr_socketpair; /* this architecture's numbers, -1 unknown */
	int32_t nr_accept, nr_accept4;
	uint32_t ustack_copy;   /* bytes of user stack copied per event; 0: frame-pointer walk */
	bool kstack_cache;      /* reuse the kernel stack of in-syscall allocations */
	bool direct_loads;      /* the direct-load object where the kernel allows it */
};

/* What backend_start() loaded. */
struct backend_used {
	enum backend backend;
	bool direct_loads; /* bpf_rdonly_cast loads (else probe reads): bpf/core_fixes.bpf.h */
};

const char *backend_name(enum backend b);
int backend_parse(const char *s, enum backend *out);

/* Opens, configures, loads and attaches.  On success *skel and *used are
 * set; on failure returns -errno and prints a one-line reason to err. */
int backend_start(const struct bpf_config *cfg, enum backend want, FILE *verbose, FILE *err,
		  struct sockrec_bpf **skel, struct backend_used *used);

/* The hook each event kind uses with backend b, for the file's metadata. */
const char *backend_hook(enum backend b, const char *what);

/* Walk every open file once (iter/task_file) and report the sockets that
 * already exist, so that their releases pair.  0 or -errno. */
int backend_snapshot(struct sockrec_bpf *skel);

void backend_stop(struct sockrec_bpf *skel);

#endif
