/* commands.h - the sockreport commands, one file each (cmd_*.c), as the
 * command registry in sockreport.c calls them. */
#ifndef SOCKREPORT_COMMANDS_H
#define SOCKREPORT_COMMANDS_H
#include "cli.h"

int cmd_leaks(struct cli *c);
int cmd_dump(struct cli *c);
int cmd_info(struct cli *c);
int cmd_pairs(struct cli *c);
int cmd_states(struct cli *c);
int cmd_summary(struct cli *c);
int cmd_latency(struct cli *c);
int cmd_allocs(struct cli *c);
int cmd_diff(struct cli *c);
int cmd_timeline(struct cli *c);
int cmd_ss(struct cli *c);
int cmd_export(struct cli *c);
/* several files (cmd_fleet.c): by site key / destination, with a host column */
int cmd_leaks_many(struct cli *c);
int cmd_allocs_many(struct cli *c);
int cmd_latency_many(struct cli *c);
int cmd_html(struct cli *c);

#endif
