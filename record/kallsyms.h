/* kallsyms.h - the running kernel's symbols, for writing KSYM records.
 *
 * Kernel frames are stored relative to the kernel text base (_text) so the
 * file does not reveal the KASLR offset.  ksyms_emit() writes, once per
 * symbol, the KSYM record that covers an address: only the symbols the
 * recorded stacks hit go into the file.
 */
#ifndef SOCKREC_KALLSYMS_H
#define SOCKREC_KALLSYMS_H
#include <stdint.h>
#include "srec_intern.h"
#include "srec_writer.h"

struct ksyms;

/* Loads /proc/kallsyms.  NULL on failure (errno set). */
struct ksyms *ksyms_load(void);
void ksyms_free(struct ksyms *k);
uint64_t ksyms_text_base(const struct ksyms *k);
/* Write the KSYM record covering addr if not written yet. */
int ksyms_emit(struct ksyms *k, uint64_t addr, struct srec_writer *w, struct srec_intern *in);
/* Name of the symbol covering addr (for -v output), or NULL. */
const char *ksyms_name(const struct ksyms *k, uint64_t addr);

/* Is addr a frame of the tracing machinery itself (the BPF program, JIT
 * trampolines, bpf_trace_run*, kprobe handlers)?  Those lead every kernel
 * stack taken from BPF and say nothing about the socket. */
int ksyms_is_tracing_frame(const struct ksyms *k, uint64_t addr);

#endif
