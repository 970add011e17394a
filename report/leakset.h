/* leakset.h - the leak analysis of `sockreport leaks`, shared with `html`.
 *
 * While the file streams, leaks_on_done() sorts each finished socket into
 * the groups (still open at the end, released only by exit, stranded in
 * CLOSE_WAIT, long CLOSE_WAIT periods that ended), the CLOSE_WAIT sockets and the per-site growth; after
 * model_finish(), leaks_collapse() symbolizes, merges and orders them.
 */
#ifndef SOCKREPORT_LEAKSET_H
#define SOCKREPORT_LEAKSET_H
#include <stddef.h>
#include <stdint.h>
#include "cli.h"
#include "groups.h"
#include "stacks.h"
#include "sites.h"

/* One socket stranded in CLOSE_WAIT, listed individually: owner, fd,
 * dwell, addresses and the stack that made the connection. */
struct cwsock {
	struct msock s;
	uint64_t dwell;
	uint64_t stack; /* connect stack, else accept stack, else allocation stack */
	int possible;
};

struct leaks {
	struct cli *c;
	uint64_t end;
	int finishing;
	struct groups outstanding, exited, closewait;
	struct groups cwended;  /* CLOSE_WAIT periods that ended, >= --older */
	struct cwsock *cw;      /* longest CLOSE_WAIT first, after leaks_collapse */
	size_t ncw, cwcap;
	struct sites sites; /* growth per allocation site */
	uint64_t young, preexisting_open;
	uint64_t cw_young;  /* in CLOSE_WAIT at the end for less than --older */
	size_t *growth;     /* sites.by_key indices with allocated > released, */
	size_t ngrowth;     /* largest net growth first (leaks_collapse) */
	int err;
};

void leaks_init(struct leaks *L, struct cli *c);
/* The model's done callback (arg: struct leaks). */
void leaks_on_done(struct model *m, const struct msock *s, void *arg);
/* After a successful load: takes the end of the recording and hands the
 * sockets still open over (model_finish). */
void leaks_finish(struct leaks *L, struct model *m);
/* Symbolize, merge and order everything; -1 on ENOMEM. */
int leaks_collapse(struct leaks *L, struct stacks *st);
void leaks_free(struct leaks *L);

#endif
