/* cmd_info.c - `sockreport info`: what the file is and how complete. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "out.h"
#include "wallclock.h"
#include "srec_error.h"
#include "commands.h"

static const char *const meta_shown[] = {
	"host.name", "host.kernel", "host.arch", "host.ncpus", "host.boot_id", "recorder.version",
	"recorder.cmdline", "backend", "backend.alloc", "backend.release", "backend.state",
	"backend.connect", "backend.accept", "backend.loads", "stacks", "stacks.user", "stacks.copy_bytes",
	"filter.pids", "filter.command",
	"filter.comm", "filter.cgroup", "filter.netns", "recording.stop_reason", "kernel.build_id",
};

int cmd_info(struct cli *c)
{
	struct model m;
	const char *path = c->files[0];

	/* What this command prints comes from META, STRING, PROCESS, LOSS and
	 * EXEC records and the record counts: with a valid index, the other
	 * DATA blocks need not be decompressed (mfilter.index_types). */
	c->index_types = 1ull << SREC_R_META | 1ull << SREC_R_STRING | 1ull << SREC_R_PROCESS |
			 1ull << SREC_R_LOSS | 1ull << SREC_R_EXEC;
	int rc = cli_load(c, path, &m, NULL, NULL);
	if (rc)
		return rc;
	model_finish(&m);
	const char *sv = model_meta(&m, "recording.start_ns"), *ev = model_meta(&m, "recording.end_ns");
	uint64_t start = sv ? strtoull(sv, NULL, 10) : m.ts_first;
	uint64_t end = ev ? strtoull(ev, NULL, 10) : m.ts_last;
	char dur[32];
	cli_dur(dur, sizeof(dur), end > start ? end - start : 0);
	cli_warnings(c, &m, path);

	if (c->json) {
		printf("{\"file\": ");
		out_json_z(stdout, path);
		printf(", \"version\": \"%u.%u\", ", m.status.major, m.status.minor);
		cli_json_status(stdout, &m);
		printf(", \"index\": \"%s\"", cli_index_state(m.status.index));
		printf(", \"duration_ns\": %" PRIu64 ", \"meta\": {", end > start ? end - start : 0);
		for (size_t i = 0; i < m.nmeta; i++) {
			if (i)
				fputs(", ", stdout);
			out_json_z(stdout, m.meta_keys[i]);
			fputs(": ", stdout);
			out_json_z(stdout, m.meta_vals[i]);
		}
		printf("}, \"records\": {");
		int first = 1;
		for (uint32_t t = 1; t < SREC_R__MAX; t++) {
			if (!srec_record_name(t) || !m.by_type[t])
				continue;
			printf("%s\"%s\": %" PRIu64, first ? "" : ", ", srec_record_name(t), m.by_type[t]);
			first = 0;
		}
		printf("}, \"blocks_ok\": %" PRIu64 ", \"blocks_bad\": %" PRIu64
		       ", \"blocks_unknown\": %" PRIu64 ", \"records_unknown\": %" PRIu64,
		       m.status.blocks_ok, m.status.blocks_bad, m.status.blocks_unknown,
		       m.status.records_unknown);
		printf(", \"losses\": [");
		for (size_t i = 0; i < m.nlosses; i++)
			printf("%s{\"t_s\": %.3f, \"window_ns\": %" PRIu64 ", \"cpu\": %d, \"kind\": %u, "
			       "\"count\": %" PRIu64 "}",
			       i ? ", " : "", cli_rel(&m, m.losses[i].ts), m.losses[i].window_ns,
			       m.losses[i].cpu == 0xFFFFFFFFu ? -1 : (int)m.losses[i].cpu, m.losses[i].kind,
			       m.losses[i].count);
		printf("], \"processes\": [");
		for (size_t i = 0; i < m.nprocs; i++) {
			printf("%s{\"pid\": %u, \"ppid\": %u, \"comm\": ", i ? ", " : "", m.procs[i].pid,
			       m.procs[i].ppid);
			out_json_z(stdout, model_str(&m, m.procs[i].comm));
			printf(", \"exe\": ");
			out_json_z(stdout, model_str(&m, m.procs[i].exe));
			putchar('}');
		}
		printf("]}\n");
	} else {
		printf("file:        ");
		out_text_z(stdout, path);
		printf("\nformat:      .srec %u.%u, %s%s\n", m.status.major, m.status.minor,
		       m.complete ? "complete" : "INCOMPLETE (recorder did not finish)",
		       m.status.salvaged ? ", DAMAGED (salvaged)" : "");
		if (m.status.salvaged)
			printf("damage:      %s at byte %" PRIu64 "; %" PRIu64 " blocks read, %" PRIu64
			       " bad\n",
			       srec_strerror(m.status.first_error), m.status.first_error_offset,
			       m.status.blocks_ok, m.status.blocks_bad);
		if (m.status.index > 0)
			printf("index:       valid\n");
		else if (m.status.index < 0)
			printf("index:       INVALID (%s, block at byte %" PRIu64 "): ignored\n",
			       srec_strerror(m.status.index_error), m.status.index_error_offset);
		else
			printf("index:       none (sockrec did not finish cleanly, or format 1.0)\n");
		struct wall w;
		char u[64], l[64];
		cli_wall(&m, &w);
		if (wall_fmt(&w, start, WALL_UTC, u, sizeof(u)) == 0) {
			wall_fmt(&w, start, WALL_LOCAL, l, sizeof(l));
			printf("started:     %s (%s)\n", u, l);
			wall_fmt(&w, end, WALL_UTC, u, sizeof(u));
			wall_fmt(&w, end, WALL_LOCAL, l, sizeof(l));
			printf("ended:       %s (%s)%s\n", u, l,
			       m.complete ? "" : ", the last event seen");
		} else {
			printf("started:     unknown (the file has no clock metadata)\n");
		}
		printf("duration:    %s\n", dur);
		for (size_t i = 0; i < sizeof(meta_shown) / sizeof(meta_shown[0]); i++) {
			const char *v = model_meta(&m, meta_shown[i]);
			if (!v)
				continue;
			printf("%-24s ", meta_shown[i]);
			out_text_z(stdout, v);
			putchar('\n');
		}
		printf("records:    ");
		for (uint32_t t = 1; t < SREC_R__MAX; t++)
			if (srec_record_name(t) && m.by_type[t])
				printf(" %s=%" PRIu64, srec_record_name(t), m.by_type[t]);
		printf("\nlost:        %" PRIu64 " events, %" PRIu64 " stack captures, %" PRIu64
		       " hook runs skipped by the kernel, %" PRIu64 " releases written late, %" PRIu64
		       " kernel-stack cache mismatches\n", m.lost_events, m.lost_stacks,
		       m.hook_skips, m.releases_late, m.kstack_mismatch);
		/* How the user stacks ended (sockrec --user-stacks dwarf): a budget
		 * that cut stacks short (copy_limit, step_limit) shows here. */
		const char *us = model_meta(&m, "unwind.stacks");
		if (us) {
			printf("unwinding:   ");
			out_text_z(stdout, us);
			printf(" user stacks; ended:");
			for (size_t i = 0; i < m.nmeta; i++)
				if (!strncmp(m.meta_keys[i], "unwind.stop.", 12)) {
					printf(" %s ", m.meta_keys[i] + 12);
					out_text_z(stdout, m.meta_vals[i]);
				}
			putchar('\n');
		}
		printf("processes:   %zu\n", m.nprocs);
		for (size_t i = 0; i < m.nprocs && i < 20; i++) {
			printf("  %7u ", m.procs[i].pid);
			out_text_z(stdout, model_str(&m, m.procs[i].comm));
			printf("  ");
			out_text_z(stdout, model_str(&m, m.procs[i].exe));
			putchar('\n');
		}
		if (m.nprocs > 20)
			printf("  ... %zu more (--json lists all)\n", m.nprocs - 20);
	}
	model_free(&m);
	return 0;
}
