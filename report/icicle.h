/* icicle.h - a flame graph (icicle: root on top) of folded stacks, as SVG.
 *
 * Input: the lines sites_folded() writes ("root;frame;...;leaf COUNT").
 * Frames narrower than half a pixel are not drawn (their count stays in
 * their parent's width), nor more than MAX_FRAMES (icicle.c) frames: the
 * narrowest go first.  The page's size is bounded by that, not by the
 * number of distinct stacks.  Each frame is a
 * <g class="fr"> with its position as data-x/data-w (fractions of the
 * root) and its depth as data-d, for the page's click-to-zoom script.
 */
#ifndef SOCKREPORT_ICICLE_H
#define SOCKREPORT_ICICLE_H
#include <stddef.h>
#include <stdio.h>
#include "sites.h"

/* 0, or -1 on ENOMEM (nothing written). what: "sockets" etc., for titles. */
int icicle_svg(FILE *f, const char *id, const char *desc, const char *folded, size_t len,
	       const char *what);

#endif
