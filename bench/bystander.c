/* bystander.c - a process that has nothing to do with sockets:
 * open("/dev/null") + close() in a loop.  The recorders' hooks are global
 * (slab alloc and free, close()), so it pays for them while another process
 * is being recorded; bench/run.py's bystander section measures how much.
 *   bystander [-t SECONDS] [-n COUNT]
 */
#include <fcntl.h>
#include "wl.h"

int main(int argc, char **argv)
{
	struct wl_opts o;
	uint64_t ops = 0;

	wl_parse(argc, argv, &o, 0);
	uint64_t start = wl_now_ns();
	while (!wl_done(&o, start, ops)) {
		for (int i = 0; i < 64; i++) {
			int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				wl_die("open /dev/null");
			if (close(fd))
				wl_die("close");
		}
		ops += 64;
	}
	wl_begin("bystander", 1, start, wl_now_ns(), ops);
	wl_u("sockets", 0);
	wl_end();
	return 0;
}
