/* symbolize.h - stack symbolizer of sockreport.
 *
 * Turns (module path, GNU build-id, FILE OFFSET) triples recorded on one host
 * into function names, offsets, source files and lines on another host; and
 * kernel frames (offsets from _text) with a vmlinux given by the user (see
 * "kernel frames" at the end).
 *
 * Contract:
 *  - A struct sym_ctx owns everything: parsed modules, strings handed out in
 *    results, registered embedded symbols.  Every string in a struct
 *    sym_result stays valid until sym_ctx_free(); none must be freed by the
 *    caller.  A context is not thread-safe: use one per thread, or lock.
 *  - Each (build-id, recorded path) pair is resolved and parsed once, on its
 *    first lookup; the result, a failure included, is cached for the life of
 *    the context.  Later lookups into the same module cost a hash probe and
 *    a few binary searches (the DWARF of a compilation unit is read the first
 *    time an address inside it is asked for, then kept).
 *  - Files are never written and never trusted: a malformed ELF or DWARF
 *    makes that file (or only its DWARF) unusable, never a crash or a fatal
 *    error.  Fatal errors are only ENOMEM and invalid arguments.
 *
 * Candidate files, in this order (each is logged to opts.verbose with the
 * reason it was accepted or rejected):
 *   1. for each debug_dirs[i]: DIR/.build-id/xx/rest.debug, then
 *      DIR/.build-id/xx/rest (xx = first build-id byte in hex, rest = the
 *      remaining bytes in hex);
 *   2. /usr/lib/debug/.build-id/xx/rest.debug (if use_system_debug);
 *   3. sysroot + recorded path (if sysroot);
 *   4. the recorded path itself (if use_recorded_path and no sysroot);
 *   5. debuginfod (if use_debuginfod and DEBUGINFOD_URLS is set, build-id of
 *      at least 2 bytes): the debug file when the files above have neither
 *      .symtab nor DWARF, the executable when none of them is the original
 *      binary (its program headers);
 *   6. embedded symbols registered with sym_add_embedded().
 * Steps 1-2 need a build-id of at least 2 bytes.  A file is accepted only if
 * its NT_GNU_BUILD_ID note equals the recorded build-id; a file without the
 * note is rejected like a mismatch.  When the recorded build-id is empty,
 * the files of steps 3-4 are accepted unverified (the log says so).
 *
 * Among the accepted files the symbolizer takes .symtab from the first that
 * has one, .dynsym from the first that has a real one, DWARF from the first
 * that has .debug_info, and the program headers (to turn the file offset
 * into an ELF virtual address) from the first that is not a separate debug
 * file.  It stops probing once it has symbols (.symtab or DWARF) and such
 * program headers.  An accepted file that has no .symtab but a
 * .gnu_debuglink brings in the named file if found (next to the file, in
 * its .debug/ subdirectory, in each debug dir as DIR/NAME and
 * DIR/RECORDED_DIRNAME/NAME, and in /usr/lib/debug/RECORDED_DIRNAME/NAME)
 * and its CRC-32 matches.  When no accepted file has a .symtab, the
 * MiniDebugInfo of one that has a .gnu_debugdata section (minidebuginfo.h)
 * stands in for it.  The -v log ends each module with one line "symbols for
 * NAME: WHAT from SOURCE: PATH" naming where its names come from.
 *
 * Separate debug files (objcopy --only-keep-debug) keep the program headers
 * but objcopy rewrites their p_offset/p_filesz.  When only such a file is
 * available the original layout is rebuilt from the headers: each PT_LOAD
 * goes at the first file offset after the previous one that is congruent to
 * its p_vaddr modulo p_align (the ELF rule; file sizes from p_memsz, and
 * for writable segments from the last section that is not a bss).  That is
 * exact for the layouts of GNU ld (with and without -z separate-code, 4 KiB
 * and 2 MiB max-page-size), gold and lld, but it is a guess: the verbose log
 * says when it is used.  Making the original binary available as well
 * (recorded path, sysroot, or DIR/.build-id/xx/rest) removes the guess.
 *
 * Names: the real (out-of-line) function is named by the ELF symbol that
 * covers the address, so that func+off agrees with the symbol table and
 * disassembly; compiler clones therefore show as "f.isra.0", "f.cold",
 * "f.part.0".  Inlined functions are named from DWARF: the linkage name
 * (demangled) found on the DW_AT_abstract_origin/DW_AT_specification chain,
 * else DW_AT_name.  Only when no ELF symbol covers the address is the DWARF
 * name used for the real function too.  Names held in a dwz/supplementary
 * file (DW_FORM_GNU_ref_alt, DW_FORM_GNU_strp_alt, ..) are not read: such a
 * frame shows "??".  Addresses in the padding between functions (no ELF
 * symbol, no DWARF function) are SYM_NO_SYMBOL even if a line row covers
 * them.
 *
 * Security (the recorded path comes from a file made elsewhere):
 *  - with a sysroot, the recorded path is never opened outside it: step 4 is
 *    skipped, paths with "." or ".." components are refused, the joined path
 *    is resolved with realpath() and must still lie inside the (resolved)
 *    sysroot, and the descriptor opened is checked again after open();
 *  - only regular files are read (opened O_NONBLOCK so a FIFO cannot hang);
 *  - a .gnu_debuglink name containing '/' is refused;
 *  - recorded paths that are not absolute ("[vdso]", "memfd:x") are not
 *    opened at all.
 */
#ifndef SOCKREC_SYMBOLIZE_H
#define SOCKREC_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SYM_MAX_FRAMES 8

struct sym_opts {
	const char *const *debug_dirs; /* --debug-dir, repeatable; may be NULL */
	size_t ndebug_dirs;
	const char *sysroot;     /* --sysroot, may be NULL */
	int use_system_debug;    /* also look in /usr/lib/debug (default 1) */
	int use_recorded_path;   /* also try the recorded path itself (default 1) */
	int demangle;            /* demangle C++ names with __cxa_demangle (default 1) */
	int use_debuginfod;      /* ask the DEBUGINFOD_URLS servers (debuginfod.h) when
	                          * the files above lack symbols or the binary (default 1) */
	FILE *verbose;           /* if non-NULL, log each candidate tried and why */
	const char *vmlinux;     /* --vmlinux: the recorded kernel's image with its
	                          * .symtab and DWARF, for sym_kernel_lookup(); may be NULL */
};

/* Fills *o with the defaults: no debug dirs, no sysroot, use_system_debug 1,
 * use_recorded_path 1, demangle 1, use_debuginfod 1, verbose NULL. */
void sym_opts_init(struct sym_opts *o);

enum sym_status {
	SYM_OK,               /* frames[] filled (nframes >= 1) */
	SYM_NO_SYMBOL,        /* a matching file was found, no symbol covers the address
	                       * (or the offset is outside every PT_LOAD of the file) */
	SYM_NOT_FOUND,        /* no candidate file exists */
	SYM_BUILDID_MISMATCH, /* files exist, but only with another (or no) build-id */
	SYM_BAD_FILE,         /* files exist, but none is a readable ELF file */
};

/* Short upper-case name of a status ("OK", "NO_SYMBOL", ...); never NULL. */
const char *sym_status_str(enum sym_status s);

struct sym_frame {
	const char *func;  /* demangled if opts.demangle; never NULL ("??" if unknown) */
	uint64_t func_off; /* offset of the RECORDED address (not of the adjusted
	                    * offset-1 of a return address) from the function's
	                    * start, as backtrace_symbols() shows it; 0 for
	                    * inlined frames */
	const char *file;  /* source file from DWARF, NULL if unknown */
	unsigned line;     /* 0 if unknown */
	int inlined;       /* 1: code of this function inlined into frames[i + 1] */
};

struct sym_result {
	enum sym_status status;
	const char *module;    /* basename of the recorded path, for display; never NULL */
	const char *used_path; /* file the symbols were read from; NULL when no file
	                        * was used (NOT_FOUND, BUILDID_MISMATCH, BAD_FILE)
	                        * or the embedded symbols answered */
	unsigned nframes;
	int truncated;         /* the inline chain was deeper than SYM_MAX_FRAMES:
	                        * the innermost SYM_MAX_FRAMES-1 frames and the real
	                        * function are kept, the middle ones dropped */
	/* Like `addr2line -f -i`: frames[0] is the innermost inlined function
	 * with the file:line of the address itself, each further frame is the
	 * function it was inlined into, with the file:line of the call site, and
	 * frames[nframes - 1] is the real (out-of-line) function, inlined == 0.
	 * Without inline information nframes is 1. */
	struct sym_frame frames[SYM_MAX_FRAMES];
};

struct sym_ctx;

/* Copies *o (strings included), so the caller's options need not outlive the
 * context; o == NULL means the defaults.  NULL on ENOMEM. */
struct sym_ctx *sym_ctx_new(const struct sym_opts *o);

/* Frees everything, including every string handed out in results.  NULL ok. */
void sym_ctx_free(struct sym_ctx *c);

/* Symbolizes FILE OFFSET file_off of the module recorded as path with the
 * given build-id (build_id may be NULL when build_id_len is 0).  With
 * is_return_addr (frames >= 1 of a stack) the offset looked up is
 * file_off - 1, so that the line shown is the call's.
 * Returns 0 with *out filled (see out->status), or a negative errno:
 * -EINVAL (NULL argument, empty path, build-id longer than 64 bytes),
 * -ENOMEM.  On error *out is still set to a SYM_NOT_FOUND result. */
int sym_lookup(struct sym_ctx *c, const char *path, const uint8_t *build_id,
	       size_t build_id_len, uint64_t file_off, int is_return_addr,
	       struct sym_result *out);

/* Registers one embedded symbol [start_off, start_off + size) of FILE
 * offsets, for the module with that build-id (or, when len is 0, for the
 * module recorded as path; path is ignored when len > 0).  They answer when
 * no file gives a symbol for the address (NOT_FOUND, BUILDID_MISMATCH,
 * BAD_FILE or NO_SYMBOL): the result is then SYM_OK with used_path NULL, one
 * frame, no file:line.  May be called before or after lookups.
 * Returns 0, -EINVAL (NULL name, size 0, no path and no build-id, build-id
 * longer than 64 bytes) or -ENOMEM. */
int sym_add_embedded(struct sym_ctx *c, const uint8_t *build_id, size_t len,
		     const char *path, uint64_t start_off, uint64_t size,
		     const char *name);

/* ---- kernel frames (--vmlinux) ----
 *
 * A recording stores a kernel frame as a signed offset from the address of
 * `_text` on the recording host (spec/srec-format.md, "STACK frames"), and
 * the kernel's GNU build-id (META kernel.build_id).  KASLR moves the whole
 * kernel image by one constant, so the link-time address of a frame in the
 * vmlinux is
 *
 *     vaddr = value of the symbol `_text` in the vmlinux's .symtab + offset
 *
 * (without a `_text` symbol, the p_vaddr of the first executable PT_LOAD,
 * which is where x86-64 links _text; the -v log says which was used).
 *
 * opts.vmlinux is opened once per build-id, on the first kernel lookup.  It
 * is used only if its NT_GNU_BUILD_ID note equals the recorded build-id; a
 * recording without a kernel build-id, a file without the note, or another
 * build-id make it BUILDID_MISMATCH, never used.  Its DWARF is indexed by
 * .debug_aranges only (a distribution vmlinux has ~300 MB of .debug_info);
 * the compilation unit of an address is read (line table and inline tree)
 * the first time an address inside it is asked for, then kept.  Without
 * .debug_aranges every unit header is read once instead, as for user files.
 * Relocation sections left by --emit-relocs (.rela.debug_*) are ignored:
 * a linked image's DWARF is already final.
 */

/* Symbolizes kernel frame text_off (offset from _text) of the kernel whose
 * GNU build-id is build_id, with opts.vmlinux.  is_return_addr as for
 * sym_lookup.  out->module is "kernel".  out->status: SYM_OK; SYM_NO_SYMBOL
 * (the vmlinux matches but neither its .symtab nor its DWARF covers the
 * address: a module, BPF or other generated code); SYM_NOT_FOUND (no
 * opts.vmlinux, or no such file); SYM_BUILDID_MISMATCH; SYM_BAD_FILE (not
 * an ELF file, or one without symbols).  Returns 0, -EINVAL or -ENOMEM as
 * sym_lookup. */
int sym_kernel_lookup(struct sym_ctx *c, const uint8_t *build_id, size_t build_id_len,
		      int64_t text_off, int is_return_addr, struct sym_result *out);

/* Opens opts.vmlinux for that build-id if not done yet and says whether it
 * is used: *status as above (SYM_OK: it matches), *why a one-line reason
 * (valid until sym_ctx_free; "" for SYM_OK and when there is no
 * opts.vmlinux).  0, -EINVAL or -ENOMEM. */
int sym_kernel_check(struct sym_ctx *c, const uint8_t *build_id, size_t build_id_len,
		     enum sym_status *status, const char **why);

#endif
