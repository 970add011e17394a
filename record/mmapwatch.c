/* mmapwatch.c - perf side-band ring buffers: MMAP2, FORK, COMM(exec), EXIT. */
#include "mmapwatch.h"
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DATA_PAGES 256 /* per CPU: 1 MiB of side-band records (a stalled drain loses mmaps) */

#ifndef PERF_RECORD_MISC_MMAP_BUILD_ID
#define PERF_RECORD_MISC_MMAP_BUILD_ID (1 << 14)
#endif
#ifndef PERF_RECORD_MISC_COMM_EXEC
#define PERF_RECORD_MISC_COMM_EXEC (1 << 13)
#endif

enum qkind { Q_MMAP = 1, Q_FORK, Q_EXEC, Q_EXIT };

struct qrec {
	uint64_t ts;
	uint32_t kind, pid, ppid, prot;
	uint64_t start, len, pgoff;
	uint8_t bid[20];
	uint8_t bid_len;
	char *path;
};

struct cpubuf {
	int fd;
	void *base;
	size_t size; /* data area bytes */
};

struct mmapw {
	struct procs *procs;
	struct cpubuf *cpus;
	int ncpus;
	int build_ids;
	long page;
	struct qrec *q;
	size_t qn, qcap, qhead;
	uint64_t lost;
	uint64_t drained_ns;
	uint8_t *scratch; /* a record that wraps around the ring is copied here */
	size_t scratch_cap;
};

static int perf_open(struct perf_event_attr *a, int cpu)
{
	return (int)syscall(SYS_perf_event_open, a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

int mmapw_open(struct mmapw **out, struct procs *procs, FILE *v)
{
	struct mmapw *w = calloc(1, sizeof(*w));
	long n = sysconf(_SC_NPROCESSORS_CONF);
	int err = 0;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->procs = procs;
	w->page = sysconf(_SC_PAGESIZE);
	w->ncpus = n > 0 ? (int)n : 1;
	w->cpus = calloc((size_t)w->ncpus, sizeof(*w->cpus));
	if (!w->cpus) {
		free(w);
		return -ENOMEM;
	}
	for (int c = 0; c < w->ncpus; c++)
		w->cpus[c].fd = -1;
	w->build_ids = 1;
	for (int c = 0; c < w->ncpus; c++) {
		struct perf_event_attr a;
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.type = PERF_TYPE_SOFTWARE;
		a.config = PERF_COUNT_SW_DUMMY;
		a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
		a.sample_id_all = 1;
		a.mmap = 1;   /* executable mappings only (no mmap_data) */
		a.mmap2 = 1;
		a.task = 1;   /* FORK and EXIT */
		a.comm = 1;
		a.comm_exec = 1;
		a.build_id = (unsigned)w->build_ids;
		a.use_clockid = 1;
		a.clockid = CLOCK_MONOTONIC;
		a.watermark = 1;
		a.wakeup_watermark = (uint32_t)(DATA_PAGES * w->page / 2);
		int fd = perf_open(&a, c);
		if (fd < 0 && errno == EINVAL && w->build_ids) {
			/* Kernels before 5.12 have no build_id in MMAP2. */
			w->build_ids = 0;
			a.build_id = 0;
			fd = perf_open(&a, c);
		}
		if (fd < 0) {
			if (errno == ENODEV || errno == EINVAL)
				continue; /* offline CPU */
			err = -errno;
			if (v)
				fprintf(v, "mmapwatch: perf_event_open(cpu %d): %s\n", c, strerror(errno));
			break;
		}
		size_t len = (size_t)(1 + DATA_PAGES) * (size_t)w->page;
		void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (base == MAP_FAILED) {
			err = -errno;
			close(fd);
			break;
		}
		w->cpus[c] = (struct cpubuf){ fd, base, (size_t)DATA_PAGES * (size_t)w->page };
	}
	if (err) {
		mmapw_close(w);
		return err;
	}
	if (v)
		fprintf(v, "mmapwatch: watching mmaps on %d CPUs%s\n", w->ncpus,
			w->build_ids ? " with kernel build-ids" : "");
	*out = w;
	return 0;
}

void mmapw_close(struct mmapw *w)
{
	if (!w)
		return;
	for (int c = 0; c < w->ncpus; c++) {
		if (w->cpus[c].base)
			munmap(w->cpus[c].base, w->cpus[c].size + (size_t)w->page);
		if (w->cpus[c].fd >= 0)
			close(w->cpus[c].fd);
	}
	for (size_t i = w->qhead; i < w->qn; i++)
		free(w->q[i].path);
	free(w->q);
	free(w->cpus);
	free(w->scratch);
	free(w);
}

uint64_t mmapw_drained_ns(const struct mmapw *w)
{
	return w ? w->drained_ns : 0;
}

uint64_t mmapw_lost(const struct mmapw *w)
{
	return w ? w->lost : 0;
}

int mmapw_has_build_ids(const struct mmapw *w)
{
	return w ? w->build_ids : 0;
}

static struct qrec *qpush(struct mmapw *w)
{
	if (w->qhead && w->qhead == w->qn)
		w->qhead = w->qn = 0;
	if (w->qn == w->qcap) {
		size_t nc = w->qcap ? w->qcap * 2 : 256;
		struct qrec *nq = realloc(w->q, nc * sizeof(*nq));
		if (!nq)
			return NULL;
		w->q = nq;
		w->qcap = nc;
	}
	struct qrec *r = &w->q[w->qn++];
	memset(r, 0, sizeof(*r));
	return r;
}

/* Parse one side-band record (contiguous copy). */
static void parse(struct mmapw *w, const struct perf_event_header *h)
{
	const uint8_t *p = (const uint8_t *)(h + 1);
	const uint8_t *end = (const uint8_t *)h + h->size;
	/* sample_id_all with TID|TIME: {u32 pid, tid; u64 time} ends the record */
	if (h->size < sizeof(*h) + 16)
		return;
	uint64_t ts;
	memcpy(&ts, end - 8, 8);
	struct qrec *r;

	switch (h->type) {
	case PERF_RECORD_MMAP2: {
		/* pid tid addr len pgoff {maj min ino ino_gen | bid_size .. bid[20]} prot flags name */
		if (h->size < sizeof(*h) + 8 + 24 + 24 + 8 + 16)
			return;
		uint32_t pid;
		memcpy(&pid, p, 4);
		const uint8_t *f = p + 8;
		if (!(r = qpush(w)))
			return;
		r->kind = Q_MMAP;
		r->ts = ts;
		r->pid = pid;
		memcpy(&r->start, f, 8);
		memcpy(&r->len, f + 8, 8);
		memcpy(&r->pgoff, f + 16, 8);
		if (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
			r->bid_len = f[24] > 20 ? 20 : f[24];
			memcpy(r->bid, f + 28, r->bid_len);
		}
		memcpy(&r->prot, f + 48, 4);
		const char *name = (const char *)(f + 56);
		size_t maxlen = (size_t)((end - 16) - (const uint8_t *)name);
		r->path = strndup(name, maxlen);
		if (!r->path)
			w->qn--;
		break;
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		uint32_t pid, ppid, tid;
		memcpy(&pid, p, 4);
		memcpy(&ppid, p + 4, 4);
		memcpy(&tid, p + 8, 4);
		if (h->type == PERF_RECORD_FORK && pid == ppid)
			return; /* a thread */
		if (h->type == PERF_RECORD_EXIT && pid != tid)
			return; /* a thread, not the process */
		if (!(r = qpush(w)))
			return;
		r->kind = h->type == PERF_RECORD_FORK ? Q_FORK : Q_EXIT;
		r->ts = ts;
		r->pid = pid;
		r->ppid = ppid;
		break;
	}
	case PERF_RECORD_COMM:
		if (!(h->misc & PERF_RECORD_MISC_COMM_EXEC))
			return;
		if (!(r = qpush(w)))
			return;
		r->kind = Q_EXEC;
		r->ts = ts;
		memcpy(&r->pid, p, 4);
		break;
	case PERF_RECORD_LOST: {
		uint64_t n;
		memcpy(&n, p + 8, 8);
		w->lost += n;
		break;
	}
	default:
		break;
	}
}

static void drain_cpu(struct mmapw *w, struct cpubuf *b)
{
	struct perf_event_mmap_page *mp = b->base;
	uint8_t *data = (uint8_t *)b->base + w->page;
	uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = mp->data_tail;

	while (tail < head) {
		struct perf_event_header hh;
		size_t off = (size_t)(tail % b->size);
		size_t first = b->size - off < sizeof(hh) ? b->size - off : sizeof(hh);
		memcpy(&hh, data + off, first);
		memcpy((uint8_t *)&hh + first, data, sizeof(hh) - first);
		if (hh.size < sizeof(hh) || hh.size > b->size)
			break;
		if (hh.size > w->scratch_cap) {
			uint8_t *ns = realloc(w->scratch, hh.size);
			if (!ns)
				break;
			w->scratch = ns;
			w->scratch_cap = hh.size;
		}
		size_t n1 = b->size - off < hh.size ? b->size - off : hh.size;
		memcpy(w->scratch, data + off, n1);
		memcpy(w->scratch + n1, data, hh.size - n1);
		parse(w, (const struct perf_event_header *)w->scratch);
		tail += hh.size;
	}
	__atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
}

static int cmp_q(const void *a, const void *b)
{
	const struct qrec *x = a, *y = b;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

int mmapw_drain(struct mmapw *w)
{
	size_t before;

	if (!w)
		return 0;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	w->drained_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	before = w->qn;
	for (int c = 0; c < w->ncpus; c++)
		if (w->cpus[c].base)
			drain_cpu(w, &w->cpus[c]);
	/* Each CPU's records are in time order, the CPUs are not: sort what
	 * is pending (stable enough: equal stamps are rare and harmless). */
	if (w->qn > w->qhead && w->qn != before)
		qsort(w->q + w->qhead, w->qn - w->qhead, sizeof(*w->q), cmp_q);
	return 0;
}

void mmapw_apply_until(struct mmapw *w, uint64_t ts)
{
	if (!w)
		return;
	while (w->qhead < w->qn && w->q[w->qhead].ts <= ts) {
		struct qrec *r = &w->q[w->qhead++];
		switch (r->kind) {
		case Q_MMAP:
			procs_mmap(w->procs, r->pid, r->ts, r->start, r->start + r->len, r->pgoff,
				   r->prot, r->path, r->bid, r->bid_len);
			break;
		case Q_FORK:
			procs_fork(w->procs, r->ppid, r->pid, r->ts);
			break;
		case Q_EXEC:
			procs_exec(w->procs, r->pid, r->ts);
			break;
		case Q_EXIT:
			procs_exit(w->procs, r->pid);
			break;
		}
		free(r->path);
		r->path = NULL;
	}
}
