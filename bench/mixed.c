/* mixed.c - a mix of socket kinds, some leaked.
 *
 * usage: mixed [-t SECONDS] [-n COUNT]
 * One op = one round of:
 *   socketpair(AF_UNIX, SOCK_STREAM), a byte each way, close both;
 *   a UDP socket that sends one datagram to a local UDP socket, close;
 *   a TCP socket that connects to a local listener (same thread: the
 *   handshake completes in the backlog), accept(), close both (SO_LINGER 0
 *   on the client: no TIME_WAIT);
 *   every 16th op, one extra UDP or UNIX socket is LEAKED (kept open until
 *   the process exits), at most 512 of them.
 * Per op: 5 sockets allocated (2 socketpair, 1 UDP, 1 TCP client,
 * 1 accepted), plus the leaks.  Plus 2 long-lived sockets per run
 * (the TCP listener and the UDP sink).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "wl.h"

#define MAX_LEAKS 512

/* Kept out of line so that the leak has its own frame in the user stack. */
__attribute__((noinline)) static int leak_one(uint64_t i)
{
	return socket((i & 32) ? AF_UNIX : AF_INET, SOCK_DGRAM, 0);
}

int main(int argc, char **argv)
{
	struct wl_opts o;
	struct sockaddr_in ta = { .sin_family = AF_INET }, ua = { .sin_family = AF_INET };
	socklen_t len;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	uint64_t ops = 0, sockets = 2, closed = 0, leaked = 0, connects = 0, accepts = 0, fails = 0;
	int leaks[MAX_LEAKS];
	char b = 'x';

	wl_parse(argc, argv, &o, 0);
	ta.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ua.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int ufd = socket(AF_INET, SOCK_DGRAM, 0);
	if (lfd < 0 || ufd < 0)
		wl_die("socket");
	len = sizeof(ta);
	if (bind(lfd, (struct sockaddr *)&ta, sizeof(ta)) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&ta, &len))
		wl_die("tcp listener");
	len = sizeof(ua);
	if (bind(ufd, (struct sockaddr *)&ua, sizeof(ua)) ||
	    getsockname(ufd, (struct sockaddr *)&ua, &len))
		wl_die("udp sink");

	uint64_t start = wl_now_ns();
	while (!(ops % 8 == 0 && wl_done(&o, start, ops))) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
			sockets += 2;
			if (write(sv[0], &b, 1) != 1 || read(sv[1], &b, 1) != 1 ||
			    write(sv[1], &b, 1) != 1 || read(sv[0], &b, 1) != 1)
				fails++;
			close(sv[0]);
			close(sv[1]);
			closed += 2;
		} else {
			fails++;
		}

		int u = socket(AF_INET, SOCK_DGRAM, 0);
		if (u >= 0) {
			sockets++;
			if (sendto(u, &b, 1, 0, (struct sockaddr *)&ua, sizeof(ua)) != 1)
				fails++;
			close(u);
			closed++;
		} else {
			fails++;
		}
		/* keep the sink drained */
		while (recv(ufd, &b, 1, MSG_DONTWAIT) == 1)
			;

		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c >= 0) {
			sockets++;
			connects++;
			if (connect(c, (struct sockaddr *)&ta, sizeof(ta)) == 0) {
				int a = accept(lfd, NULL, NULL);
				if (a >= 0) {
					sockets++;
					accepts++;
					close(a);
					closed++;
				} else {
					fails++;
				}
				setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			} else {
				fails++;
			}
			close(c);
			closed++;
		} else {
			fails++;
		}

		if (ops % 16 == 0 && leaked < MAX_LEAKS) {
			int l = leak_one(ops);
			if (l >= 0) {
				leaks[leaked++] = l;
				sockets++;
			}
		}
		ops++;
	}
	uint64_t end = wl_now_ns();
	(void)leaks;
	wl_begin("mixed", 1, start, end, ops);
	wl_u("sockets", sockets);
	wl_u("closed", closed);
	wl_u("leaked", leaked + 2); /* + listener and sink, released by exit */
	wl_u("connects", connects);
	wl_u("accepts", accepts);
	wl_u("fails", fails);
	wl_end();
	return 0;
}
