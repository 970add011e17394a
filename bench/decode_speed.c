/* decode_speed.c - raw decode speed of the C reader.
 *
 * usage: decode_speed FILE.srec [REPEAT]
 * Iterates every record with srec_reader_next() (REPEAT times, default 1),
 * touching each record's type so nothing is optimised away, and prints one
 * JSON line: records, seconds (best of the repeats), records/s, MB/s of
 * the file, and the same for the process's CPU time (cpu_secs,
 * records_per_cpu_s), which a busy machine disturbs less than wall time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "srec_error.h"
#include "srec_reader.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }

int main(int argc, char **argv)
{
	int repeat = argc > 2 ? atoi(argv[2]) : 1;
	double best = 1e30, best_cpu = 1e30;
	uint64_t records = 0, check = 0, size = 0, events = 0;

	if (argc < 2 || repeat < 1) {
		fprintf(stderr, "usage: decode_speed FILE.srec [REPEAT]\n");
		return 2;
	}
	for (int k = 0; k < repeat; k++) {
		struct srec_reader *rd;
		const struct srec_record *rec;
		int err = srec_reader_open(&rd, argv[1]);
		if (err) {
			fprintf(stderr, "decode_speed: %s: %s\n", argv[1], srec_strerror(err));
			return 1;
		}
		double t0 = now(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		uint64_t n = 0, ev = 0;
		while (srec_reader_next(rd, &rec) == 1) {
			n++;
			check += rec->type;
			ev += (uint64_t)srec_record_is_event(rec->type);
		}
		double t = now() - t0, c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		if (t < best)
			best = t;
		if (c < best_cpu)
			best_cpu = c;
		records = n;
		events = ev;
		size = srec_reader_status(rd)->file_size;
		srec_reader_close(rd);
	}
	printf("{\"records\": %" PRIu64 ", \"events\": %" PRIu64 ", \"secs\": %.6f, "
	       "\"records_per_s\": %.0f, \"mb_per_s\": %.1f, \"cpu_secs\": %.6f, "
	       "\"records_per_cpu_s\": %.0f, \"check\": %" PRIu64 "}\n",
	       records, events, best, records / best, (double)size / 1e6 / best, best_cpu,
	       records / best_cpu, check);
	return 0;
}
