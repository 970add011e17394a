/* pidtree.h - processes named by -p and their running descendants. */
#ifndef SOCKREC_PIDTREE_H
#define SOCKREC_PIDTREE_H
#include <stddef.h>
#include <stdint.h>

/* 1 if process pid exists (even if we may not signal it), else 0. */
int pidtree_exists(uint32_t pid);

/* Every running process descended from one of roots (not the roots
 * themselves), from one /proc snapshot, into *out (malloc'd, the caller
 * frees).  0 or -errno. */
/* Every running process, from one /proc listing, into *out (malloc'd, the
 * caller frees).  0 or -errno. */
int pidtree_all(uint32_t **out, size_t *nout);

int pidtree_descendants(const uint32_t *roots, int nroots, uint32_t **out, size_t *nout);

#endif
