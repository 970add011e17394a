/* model_int.h - what the model's three files share; not for the commands.
 *
 *   model.c          the pass: reads the file, hands each record to the
 *                    handler of its type, emits events, applies filters;
 *   model_tables.c   the interned tables (strings, modules, stacks,
 *                    symbols), processes and losses;
 *   model_pairing.c  socket lifetimes: ALLOC..RELEASE paired by serial,
 *                    STATE records joined by sk serial. */
#ifndef SOCKREPORT_MODEL_INT_H
#define SOCKREPORT_MODEL_INT_H
#include "model.h"

/* Per-kind limits of what the model keeps (far above any real recording:
 * ~40 META records, a few thousand KSYM/SYMBOL/PROCESS). */
#define MAX_META 4096
#define MAX_KSYMS (1u << 21)
#define MAX_SYMS (1u << 21)
#define MAX_PROCS (1u << 20)
#define MAX_LOSSES (1u << 20)
/* (model.c reads every block when a file has more KSYM/SYMBOL records
 * than kept: the caps apply only to records decoded.) */

/* What a record handler tells the pass. */
struct mrec {
	struct msock *s;      /* the socket an event is about (for model_event_fn) */
	struct msock *finish; /* a socket whose lifetime the record ended */
	uint64_t prev_ts;     /* the socket's previous state change (STATE) */
};
/* A record handler: 0 done, -1 out of memory, 1 done and nothing follows
 * (no event to emit, no socket to finish). */
typedef int (*mrec_fn)(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);

/* model_tables.c */
int mt_meta(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mt_string(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mt_module(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mt_stack(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mt_symbol(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mt_ksym(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mt_process(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mt_loss(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mt_exec(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mt_exit(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);

/* model_pairing.c */
int mp_alloc(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mp_preexist(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mp_sockinfo(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mp_state(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mp_connect(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mp_accept(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
int mp_release(struct model *m, const struct srec_record *r, const struct srec_ev *ev, struct mrec *o);
/* The lifetime tables: made by model_load_ev, freed by model_free. */
int model_pairing_init(struct model *m);
void model_pairing_free(struct model *m);
/* The socket's lifetime is over: report it (model_done_fn) and forget it. */
void model_sock_done(struct model *m, struct msock *s);

/* model.c */
/* 1 if the command line's filters (pid, comm, time) keep it. */
int model_wanted(const struct model *m, uint32_t pid, uint64_t comm, uint64_t ts);
/* Hands an event record to model_event_fn when the filters keep it. */
void model_emit_event(struct model *m, const struct srec_record *r, const struct srec_ev *ev,
		      const struct msock *s, uint64_t prev_ts);

#endif
