/* churn.c - the tightest socket lifecycle: socket(AF_INET, SOCK_STREAM); close().
 *
 * usage: churn [-t SECONDS] [-n COUNT] [-j THREADS]
 * One op = one socket() + one close(): one socket allocated and released.
 * With -j N, N threads run the loop; -n is the total over all threads.
 * Prints: ops, ops_per_s, sockets (allocated), closed (released by close()).
 */
#include <pthread.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include "wl.h"

static struct wl_opts g_o;
static uint64_t g_start;
static atomic_uint_fast64_t g_total;
static atomic_int g_stop;

struct worker {
	pthread_t th;
	uint64_t ops;
	uint64_t fails;
};

static void *run(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		for (int i = 0; i < 64; i++) {
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			if (fd < 0) {
				w->fails++;
				continue;
			}
			close(fd);
			w->ops++;
		}
		uint64_t total = atomic_fetch_add(&g_total, 64) + 64;
		if (atomic_load(&g_stop) || wl_done(&g_o, g_start, g_o.count ? total : 0)) {
			atomic_store(&g_stop, 1);
			break;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker w[64];
	uint64_t ops = 0, fails = 0;

	wl_parse(argc, argv, &g_o, 1);
	memset(w, 0, sizeof(w));
	g_start = wl_now_ns();
	for (int i = 1; i < g_o.threads; i++)
		if (pthread_create(&w[i].th, NULL, run, &w[i]))
			wl_die("pthread_create");
	run(&w[0]);
	for (int i = 1; i < g_o.threads; i++)
		pthread_join(w[i].th, NULL);
	uint64_t end = wl_now_ns();
	for (int i = 0; i < g_o.threads; i++) {
		ops += w[i].ops;
		fails += w[i].fails;
	}
	wl_begin("churn", g_o.threads, g_start, end, ops);
	wl_u("sockets", ops);
	wl_u("closed", ops);
	wl_u("leaked", 0);
	wl_u("connects", 0);
	wl_u("accepts", 0);
	wl_u("fails", fails);
	wl_end();
	return 0;
}
