# bench/bench.mk - benchmark targets, included by the top-level Makefile.
#
#   make bench          build, run every benchmark (~10 min), print the table,
#                       rewrite bench/RESULTS.md
#   make bench-quick    build, run each benchmark once, very briefly, into a
#                       temporary directory (checks the harness; RESULTS.md untouched)
#   make bench-bins     only build the workloads and tools into $(BUILD)/bench/
#   make bench-symbolize  only the symbolizer throughput (section 6): updates that
#                       section of bench/RESULTS.md, keeps the rest
#   make bench-vm       recording overhead of every backend (fentry, kprobe,
#                       tracepoint) in a guest running Debian's stock kernel
#                       under qemu, against that kernel's fentry/kprobe floors
#                       and a perf probe peer (~15 min): rewrites bench/RESULTS-vm.md
#                       (BENCH_VM_ARGS="--runs 3 --secs 1" for a shorter run)
#
# BENCH_ARGS passes options to bench/run.py (e.g. BENCH_ARGS="--runs 7 --secs 3").
# Needs root (BPF); perf and bpftrace are optional peers (skipped if absent).

BENCH_DIR := $(BUILD)/bench
BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -fno-omit-frame-pointer
# make STATIC=1: self-contained workloads and floor for the benchmark guest
# (bench/vm/); never the sanitizers' flags, which would measure ASan.
BENCH_LDFLAGS := $(if $(filter 1,$(STATIC)),-static)
BENCH_WORKLOADS := $(BENCH_DIR)/churn $(BENCH_DIR)/tcp $(BENCH_DIR)/mixed $(BENCH_DIR)/bystander
BENCH_TOOLS := $(BENCH_DIR)/floor $(BENCH_DIR)/cfi_search $(BENCH_DIR)/gen_big $(BENCH_DIR)/decode_speed $(BENCH_DIR)/symbench
BENCH_PY ?= python3

$(BENCH_DIR)/churn $(BENCH_DIR)/tcp $(BENCH_DIR)/mixed $(BENCH_DIR)/bystander: $(BENCH_DIR)/%: bench/%.c bench/wl.h
	$(call msg,BENCH,$@)
	$(Q)mkdir -p $(BENCH_DIR)
	$(Q)$(CC) $(BENCH_CFLAGS) -pthread $(BENCH_LDFLAGS) $< -o $@

$(BENCH_DIR)/floor.bpf.o: bench/floor.bpf.c bpf/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(BENCH_DIR)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ibpf -Wall -Werror -c $< -o $@

$(BENCH_DIR)/floor.skel.h: $(BENCH_DIR)/floor.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name floor_bpf > $@

$(BENCH_DIR)/floor: bench/floor.c $(BENCH_DIR)/floor.skel.h
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) -I$(BENCH_DIR) $(BENCH_LDFLAGS) $< -lbpf -lelf -lz -o $@

# The in-BPF CFI unwinder's core (the design not chosen, spec/unwinding.md).
$(BENCH_DIR)/cfi_search.bpf.o: bench/cfi_search.bpf.c bpf/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(BENCH_DIR)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ibpf -Wall -Werror -c $< -o $@

$(BENCH_DIR)/cfi_search.skel.h: $(BENCH_DIR)/cfi_search.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name cfi_search_bpf > $@

$(BENCH_DIR)/cfi_search: bench/cfi_search.c $(BENCH_DIR)/cfi_search.skel.h
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) -I$(BENCH_DIR) $(BENCH_LDFLAGS) $< -lbpf -lelf -lz -o $@

$(BENCH_DIR)/gen_big $(BENCH_DIR)/decode_speed: $(BENCH_DIR)/%: bench/%.c $(FORMAT_OBJ)
	$(call msg,BENCH,$@)
	$(Q)mkdir -p $(BENCH_DIR)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $^ -lzstd -o $@

# The symbolizer's throughput (bench/run.py --only symbolize): the same object
# as sockreport's, so it measures what the report links.
SYMBOLIZER_OBJ := $(patsubst report/%.c,$(BUILD)/report/%.o,report/symbolize.c $(wildcard report/sym_*.c)) \
	$(BUILD)/report/debuginfod.o $(BUILD)/report/minidebuginfo.o
$(BENCH_DIR)/symbench: bench/symbench.c $(SYMBOLIZER_OBJ)
	$(call msg,BENCH,$@)
	$(Q)mkdir -p $(BENCH_DIR)
	$(Q)$(CC) $(CPPFLAGS) -Ireport $(CFLAGS) $(LDFLAGS) $^ -lelf -ldwarf -lz -lstdc++ $(LIBS_SYM) -o $@

bench-bins: all fixtures $(BENCH_WORKLOADS) $(BENCH_TOOLS)

bench: bench-bins
	$(BENCH_PY) bench/run.py --build $(abspath $(BUILD)) $(BENCH_ARGS)

bench-quick: bench-bins
	$(BENCH_PY) bench/run.py --build $(abspath $(BUILD)) --quick $(BENCH_ARGS)

bench-symbolize: bench-bins
	$(BENCH_PY) bench/run.py --build $(abspath $(BUILD)) --only symbolize $(BENCH_ARGS)

# The guest gets the static build (tests/vm/vm.mk's vm-static builds the
# workloads and the floor in it as well).
bench-vm: vm-deps vm-static vm-fixtures
	$(BENCH_PY) bench/vm/run.py --static $(VM_STATIC) $(BENCH_VM_ARGS)

.PHONY: bench bench-quick bench-bins bench-symbolize bench-vm

# A long recording at a moderate rate (not in CI): memory flat, bytes/event
# constant.  SOAK_MINUTES=30 by default.
SOAK_MINUTES ?= 30
soak: all fixtures
	$(BENCH_PY) bench/soak.py --build $(abspath $(BUILD)) --minutes $(SOAK_MINUTES) --out $(BUILD)/soak.md

.PHONY: soak
