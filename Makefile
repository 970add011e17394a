# sockrec - build, test, bench, install.  `make V=1` shows the commands.
#
#   make               build build/sockrec and build/sockreport
#   make deps          install the Debian packages the build and tests need
#   make test          run the test suite (as root; BPF tests fail without BPF)
#   make conformance   only the real-server conformance tests (part of make test)
#   make demo          record the built-in leaky workload and print the reports
#   make bench         run the benchmarks, rewrite bench/RESULTS.md
#   make fuzz          build and run the libFuzzer target for a bounded time
#   make SANITIZE=1    build with ASan+UBSan (into build-san/)
#   make install PREFIX=/usr/local DESTDIR=
#
# vmlinux.h: bpf/vmlinux.h is committed (generated from a 6.18 kernel's BTF, as
# libbpf-tools does), so the build does not need the build host's BTF.
# `make vmlinux` regenerates it from /sys/kernel/btf/vmlinux on purpose only.

PREFIX ?= /usr/local
DESTDIR ?=
SANITIZE ?=
STATIC ?=

ifeq ($(SANITIZE),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(STATIC),1)
BUILD ?= build-static
SANFLAGS :=
else
BUILD ?= build
SANFLAGS :=
endif

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(SANFLAGS)
CPPFLAGS += -Iformat -I$(BUILD) -Ibpf -I/usr/include/libdwarf
LDFLAGS += $(SANFLAGS)
LIBS_REC := -lbpf -ldw -lelf -lz -lzstd -llzma
# libdebuginfod and liblzma: the symbolizer's debuginfod.c, minidebuginfo.c
LIBS_SYM := -ldebuginfod -llzma
LIBS_REP := -lelf -ldwarf -lz -lzstd -lprotobuf-c -lstdc++ $(LIBS_SYM)
ifeq ($(STATIC),1)
# Self-contained binaries (make STATIC=1 -> build-static/): every library
# from its .a.  Debian 12's libelf.a and libdwarf.a need only zlib (checked
# with nm -u); libdwarf goes before libelf, both before -lz.  libdw.a (the
# recorder's CFI unwinder) also reads compressed sections: lzma, bz2, zstd.
LDFLAGS += -static
LIBS_REC := -lbpf -ldw -lelf -lz -lzstd -llzma -lbz2 -lpthread -ldl
# Debian ships no libdebuginfod.a: the static sockreport is built without
# debuginfod (it says so when asked); liblzma.a links.
CPPFLAGS += -DSOCKREPORT_NO_DEBUGINFOD
LIBS_SYM := -llzma
LIBS_REP := -ldwarf -lelf -lprotobuf-c -lz -lzstd -lstdc++ -lm $(LIBS_SYM)
endif

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

FORMAT_SRC := $(wildcard format/*.c)
RECORD_SRC := $(wildcard record/*.c)
REPORT_SRC := $(wildcard report/*.c)
FORMAT_OBJ := $(FORMAT_SRC:%.c=$(BUILD)/%.o)
RECORD_OBJ := $(RECORD_SRC:%.c=$(BUILD)/%.o)
REPORT_OBJ := $(REPORT_SRC:%.c=$(BUILD)/%.o) $(BUILD)/pprof/profile.pb-c.o

all: $(BUILD)/sockrec $(BUILD)/sockreport

# The BPF object twice from one source (bpf/core_fixes.bpf.h, KREAD):
# sockrec.bpf.o reads kernel memory behind plain pointers with probe reads
# (any kernel), sockrec_direct.bpf.o with bpf_rdonly_cast() direct loads
# (>= 6.2).  record/backend.c opens the second where the kernel has the
# kfunc, through the first's skeleton (their globals must agree: asserted
# there).
BPF_SRC_DEPS := bpf/sockrec.bpf.c bpf/ringbuf_events.h bpf/core_fixes.bpf.h bpf/vmlinux.h
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ibpf -Wall -Werror

$(BUILD)/sockrec.bpf.o: $(BPF_SRC_DEPS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(BUILD)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DSR_DIRECT_LOADS=0 -c $< -o $@

$(BUILD)/sockrec_direct.bpf.o: $(BPF_SRC_DEPS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(BUILD)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DSR_DIRECT_LOADS=1 -c $< -o $@

$(BUILD)/sockrec.skel.h: $(BUILD)/sockrec.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name sockrec_bpf > $@

$(BUILD)/sockrec_direct.skel.h: $(BUILD)/sockrec_direct.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name sockrec_direct_bpf > $@

$(BUILD)/%.o: %.c $(wildcard format/*.h record/*.h report/*.h bpf/ringbuf_events.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(RECORD_OBJ): $(BUILD)/sockrec.skel.h $(BUILD)/sockrec_direct.skel.h

# pprof's profile.proto, from Debian's golang-github-google-pprof-dev (the
# upstream file, Apache-2.0), compiled with protoc-c: sockreport encodes
# profiles with libprotobuf-c, never by hand.
PROFILE_PROTO ?= /usr/share/gocode/src/github.com/google/pprof/proto/profile.proto
$(BUILD)/pprof/profile.pb-c.c: $(BUILD)/pprof/profile.pb-c.h
	@:
$(BUILD)/pprof/profile.pb-c.h: $(PROFILE_PROTO)
	$(call msg,PROTOC-C,$@)
	$(Q)mkdir -p $(BUILD)/pprof
	$(Q)protoc-c --c_out=$(BUILD)/pprof -I$(dir $(PROFILE_PROTO)) $(notdir $(PROFILE_PROTO))
# generated code: our warnings are not its author's
$(BUILD)/pprof/profile.pb-c.o: $(BUILD)/pprof/profile.pb-c.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-error -w -c $< -o $@
$(BUILD)/report/pprof.o: $(BUILD)/pprof/profile.pb-c.h
$(BUILD)/report/pprof.o: CPPFLAGS += -I$(BUILD)/pprof

# elfsyms.c embeds MiniDebugInfo symbols with the report's reader of them
$(BUILD)/sockrec: $(RECORD_OBJ) $(FORMAT_OBJ) $(BUILD)/report/minidebuginfo.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_REC) -o $@

# sockreport writes files (timeline -o, html -o) with the recorder's safe-create
# helper, format/outfile.c (in format/: both programs and the fuzzer link it).
$(BUILD)/sockreport: $(REPORT_OBJ) $(FORMAT_OBJ)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_REP) -o $@

# Test fixtures: built with frame pointers so that user stacks unwind.
FIXTURE_SRC := $(wildcard tests/fixtures/*.c)
FIXTURE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer -pthread
FIXTURES := $(patsubst tests/fixtures/%.c,$(BUILD)/fixtures/%,$(filter-out tests/fixtures/sym%.c tests/fixtures/srec_gen.c tests/fixtures/srec_hostile.c tests/fixtures/hist_check.c,$(FIXTURE_SRC))) \
	$(BUILD)/fixtures/libsockfix.so
$(BUILD)/fixtures/%: tests/fixtures/%.c
	$(call msg,FIXTURE,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) $< -o $@

# A shared library and a program linked against it (found next to it).
$(BUILD)/fixtures/libsockfix.so: tests/fixtures/lib/libsockfix.c
	$(call msg,FIXTURE,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) -shared -fPIC $< -o $@

$(BUILD)/fixtures/libuser: tests/fixtures/libuser.c $(BUILD)/fixtures/libsockfix.so
	$(call msg,FIXTURE,$@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) $< -L$(BUILD)/fixtures -lsockfix -Wl,-rpath,'$$ORIGIN' -o $@

# Built like a distribution's code, without frame pointers: only CFI
# unwinds them (tests/test_unwind.py).
NOFP_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -fomit-frame-pointer -pthread
$(BUILD)/fixtures/nofp/lib%.so: tests/fixtures/nofp/lib%.c tests/fixtures/nofp/nofp_step.h
	$(call msg,FIXTURE,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(NOFP_CFLAGS) -shared -fPIC $< -o $@

$(BUILD)/fixtures/nofp/nofp_chain: tests/fixtures/nofp/nofp_chain.c tests/fixtures/nofp/nofp_step.h $(BUILD)/fixtures/nofp/libnofp.so $(BUILD)/fixtures/nofp/libnofp_dl.so
	$(call msg,FIXTURE,$@)
	$(Q)$(CC) $(NOFP_CFLAGS) $< -L$(BUILD)/fixtures/nofp -lnofp -ldl -Wl,-rpath,'$$ORIGIN' -o $@

FIXTURES += $(BUILD)/fixtures/nofp/nofp_chain

$(BUILD)/srec_gen: tests/fixtures/srec_gen.c $(FORMAT_OBJ)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $^ -lzstd -o $@

# The report's duration histogram alone, for tests/test_hist.py.
$(BUILD)/fixtures/hist_check: tests/fixtures/hist_check.c report/hist.c report/hist.h
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) -Ireport $(CFLAGS) $(LDFLAGS) tests/fixtures/hist_check.c report/hist.c -o $@

fixtures: $(FIXTURES) $(BUILD)/fixtures/hist_check

PYTEST ?= /usr/bin/python3 -m pytest
# The tests use the binaries of this build (plain or SANITIZE=1).
# bench/test_quick.py runs every benchmark once, briefly, so the harness
# cannot rot; the measurements themselves are `make bench`, never a test.
# tests/test_vm.py boots a VM: it belongs to `make vmtest` (CI runs both).
test: all fixtures bench-bins
	SOCKREC_BUILD=$(abspath $(BUILD)) SREC_SOCKREPORT=$(abspath $(BUILD))/sockreport \
	SYM_SANITIZE=$(SANITIZE) \
		$(PYTEST) -v -rfE tests/ bench/test_quick.py --ignore=tests/test_vm.py $(PYTEST_ARGS)

# Conformance on real software from Debian's packages (nginx + ab, redis,
# curl/wget against python3 -m http.server, a CLOSE_WAIT leaker) against
# tcplife, tcpstates, ss and /proc (about 40 s).  `make test` runs it too:
# it is part of tests/; this target runs it alone.
CONFORMANCE := tests/test_real_servers.py tests/test_conformance_real.py
conformance: all fixtures
	SOCKREC_BUILD=$(abspath $(BUILD)) SREC_SOCKREPORT=$(abspath $(BUILD))/sockreport \
		$(PYTEST) -v -rfE $(CONFORMANCE) $(PYTEST_ARGS)

demo: all fixtures
	tests/demo.sh $(BUILD)

deps:
	tests/install-deps.sh

vmlinux:
	@echo "Regenerating bpf/vmlinux.h from THIS HOST's /sys/kernel/btf/vmlinux"
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h

# Fragments owned by the benchmark, fuzzing and VM-test harnesses.
-include bench/bench.mk tests/fuzz/fuzz.mk tests/vm/vm.mk

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/sockrec $(DESTDIR)$(PREFIX)/sbin/sockrec
	install -m 0755 $(BUILD)/sockreport $(DESTDIR)$(PREFIX)/bin/sockreport
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 man/sockreport.1 $(DESTDIR)$(PREFIX)/share/man/man1/sockreport.1
	install -m 0644 man/sockrec.8 $(DESTDIR)$(PREFIX)/share/man/man8/sockrec.8

clean:
	rm -rf build build-san build-static

.PHONY: all fixtures test conformance demo deps vmlinux install clean
.DELETE_ON_ERROR:
