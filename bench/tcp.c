/* tcp.c - TCP connection churn over loopback: a client thread and a server
 * thread.
 *
 * usage: tcp [-t SECONDS] [-n COUNT]
 * One op = client socket() + connect() to 127.0.0.1, server accept(),
 * client close() with SO_LINGER 0 (an RST, so that no TIME_WAIT piles up
 * and ephemeral ports never run out), server close().
 * Per op: 2 sockets allocated and released, 1 connect, 1 accept, and the
 * TCP state changes of both ends.  Plus one listening socket per run.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include "wl.h"

static struct wl_opts g_o;
static int g_lfd;
static uint64_t g_accepts;

static void *server(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(g_lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break; /* listener shut down: the run is over */
		}
		g_accepts++;
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	pthread_t th;
	uint64_t ops = 0, fails = 0;
	int one = 1;

	wl_parse(argc, argv, &g_o, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (g_lfd < 0)
		wl_die("socket");
	setsockopt(g_lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(g_lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(g_lfd, 1024) ||
	    getsockname(g_lfd, (struct sockaddr *)&sa, &len))
		wl_die("bind/listen");
	if (pthread_create(&th, NULL, server, NULL))
		wl_die("pthread_create");

	uint64_t start = wl_now_ns();
	while (!(ops % 16 == 0 && wl_done(&g_o, start, ops))) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			fails++;
			continue;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			fails++;
			close(fd);
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		ops++;
	}
	uint64_t end = wl_now_ns();
	/* Let the server take what is queued, then stop it. */
	for (int i = 0; i < 200 && g_accepts < ops; i++)
		usleep(1000);
	shutdown(g_lfd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(g_lfd);

	wl_begin("tcp", 2, start, end, ops);
	/* sockets: client + accepted per op, + the listener; connect failures
	 * still allocated a socket. */
	wl_u("sockets", ops + g_accepts + fails + 1);
	wl_u("closed", ops + g_accepts + fails + 1);
	wl_u("leaked", 0);
	wl_u("connects", ops + fails);
	wl_u("accepts", g_accepts);
	wl_u("fails", fails);
	wl_end();
	return 0;
}
