/* cfi_search - time bench/cfi_search.bpf.c (the in-BPF CFI unwinder's core)
 * with the kernel's run-time statistics: ns per run for a stack of DEPTH
 * frames searched in a table of ROWS rows, run REPEAT times on getppid().
 * Prints one JSON line per (rows, depth).  The empty-run cost of the hook is
 * measured too (depth 0) and reported apart.
 *
 * usage: cfi_search [-r REPEAT] ROWS DEPTH [ROWS DEPTH ...]
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* The BPF side's types, for the skeleton's .bss (same layout). */
struct args {
	uint64_t stack;
	uint64_t pcs[32];
};
#include "cfi_search.skel.h"

struct row {
	uint64_t pc;
	uint32_t cfa_off;
	uint32_t ra_off;
};

static int one(uint32_t nrows, uint32_t depth, int repeat)
{
	static uint64_t fake_stack[32 * 2 + 64];
	struct cfi_search_bpf *s = cfi_search_bpf__open();
	struct bpf_link *l = NULL;
	struct bpf_prog_info info;
	uint32_t ilen = sizeof(info);
	int err = -1;

	if (!s)
		return -1;
	s->rodata->nrows = nrows;
	s->rodata->depth = depth;
	s->rodata->target_tgid = (uint32_t)getpid();
	if (bpf_map__set_max_entries(s->maps.rows, nrows) || cfi_search_bpf__load(s))
		goto out;
	int fd = bpf_map__fd(s->maps.rows);
	for (uint32_t i = 0; i < nrows; i++) {
		struct row r = { (uint64_t)i * 16, 8 + (i & 7) * 8, 0 };
		if (bpf_map_update_elem(fd, &i, &r, 0))
			goto out;
	}
	s->bss->a.stack = (uint64_t)(uintptr_t)fake_stack;
	for (uint32_t i = 0; i < 32; i++)
		s->bss->a.pcs[i] = ((uint64_t)rand() % nrows) * 16 + 3;
	if (!(l = bpf_program__attach(s->progs.cfi_walk)))
		goto out;
	for (int i = 0; i < repeat; i++)
		if (getppid() < 0)
			goto out;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(s->progs.cfi_walk), &info, &ilen) ||
	    !info.run_cnt)
		goto out;
	double ns = (double)info.run_time_ns / (double)info.run_cnt;
	printf("{\"rows\": %u, \"depth\": %u, \"runs\": %llu, \"ns_per_run\": %.0f, "
	       "\"ns_per_frame\": %.1f}\n", nrows, depth, (unsigned long long)info.run_cnt, ns,
	       depth ? ns / depth : 0.0);
	err = 0;
out:
	bpf_link__destroy(l);
	cfi_search_bpf__destroy(s);
	return err;
}

int main(int argc, char **argv)
{
	int repeat = 20000, i = 1;

	if (argc > 2 && !strcmp(argv[1], "-r")) {
		repeat = atoi(argv[2]);
		i = 3;
	}
	int stats = bpf_enable_stats(BPF_STATS_RUN_TIME); /* counted while this fd is open */
	if (stats < 0) {
		fprintf(stderr, "cfi_search: cannot enable BPF run-time statistics\n");
		return 1;
	}
	if (argc - i < 2 || (argc - i) % 2) {
		fprintf(stderr, "usage: cfi_search [-r REPEAT] ROWS DEPTH [ROWS DEPTH ...]\n");
		return 2;
	}
	for (; i + 1 < argc; i += 2)
		if (one((uint32_t)atoi(argv[i]), (uint32_t)atoi(argv[i + 1]), repeat)) {
			fprintf(stderr, "cfi_search: load or run failed for %s rows\n", argv[i]);
			return 1;
		}
	return 0;
}
