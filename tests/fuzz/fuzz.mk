# tests/fuzz/fuzz.mk - the libFuzzer target of the .srec parsing in sockreport
# (included by the top-level Makefile).
#
#   make fuzz-build                 build build-fuzz/fuzz_reader (clang, libFuzzer+ASan+UBSan)
#   make fuzz [FUZZ_SECONDS=60]     fuzz for FUZZ_SECONDS; the corpus grows in
#                                   build-fuzz/corpus (seeded from tests/fuzz/corpus and
#                                   tests/fuzz/regressions); a crash, leak, UB report,
#                                   timeout or OOM fails the target and its input is
#                                   saved under build-fuzz/artifacts/
#   make fuzz-ci                    fresh corpus (seeds + regressions), 60 s; for CI
#
# Reproduce a saved input:   build-fuzz/fuzz_reader build-fuzz/artifacts/crash-...
# Its .srec form (checksums repaired, reproduces with sockreport itself, the form
# to keep in tests/fuzz/regressions/):
#   FUZZ_FIXUP_OUT=out.srec build-fuzz/fuzz_reader build-fuzz/artifacts/crash-...

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR := build-fuzz
FUZZ_BIN := $(FUZZ_DIR)/fuzz_reader
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_INC := -Iformat -Ireport -I/usr/include/libdwarf -I$(BUILD)/pprof
FUZZ_SRC := tests/fuzz/fuzz_reader.c $(wildcard format/*.c) \
	$(filter-out report/sockreport.c,$(wildcard report/*.c)) $(BUILD)/pprof/profile.pb-c.c
# --wrap: the commands' symbolizer must not open host files (see fuzz_reader.c).
FUZZ_LIBS := -Wl,--wrap=cli_symbolizer -lelf -ldwarf -lprotobuf-c -lz -lzstd -lstdc++ -ldebuginfod -llzma
# -max_len: inputs up to 256 KiB; -rss_limit_mb: a bounded reader never needs
# 2 GiB (the limit also caps single mallocs); -timeout: seconds per input.
FUZZ_RUN_FLAGS := -max_len=262144 -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
	-dict=tests/fuzz/srec.dict -artifact_prefix=$(FUZZ_DIR)/artifacts/
FUZZ_SEEDS = $(wildcard tests/fuzz/corpus/*.srec) $(wildcard tests/fuzz/regressions/*.srec)

$(FUZZ_BIN): $(FUZZ_SRC) $(wildcard format/*.h report/*.h) tests/fuzz/fuzz.mk
	$(call msg,FUZZ-LD,$@)
	$(Q)mkdir -p $(FUZZ_DIR)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_INC) $(FUZZ_SRC) $(FUZZ_LIBS) -o $@

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	$(Q)mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
	$(Q)cp $(FUZZ_SEEDS) $(FUZZ_DIR)/corpus/
	$(FUZZ_BIN) $(FUZZ_RUN_FLAGS) -max_total_time=$(FUZZ_SECONDS) $(FUZZ_DIR)/corpus \
		|| { echo "fuzz: FAILED; the input is in $(FUZZ_DIR)/artifacts/" >&2; exit 1; }

fuzz-ci: $(FUZZ_BIN)
	$(Q)rm -rf $(FUZZ_DIR)/ci-corpus
	$(Q)mkdir -p $(FUZZ_DIR)/ci-corpus $(FUZZ_DIR)/artifacts
	$(Q)cp $(FUZZ_SEEDS) $(FUZZ_DIR)/ci-corpus/
	$(FUZZ_BIN) $(FUZZ_RUN_FLAGS) -max_total_time=60 $(FUZZ_DIR)/ci-corpus \
		|| { echo "fuzz-ci: FAILED; the input is in $(FUZZ_DIR)/artifacts/" >&2; exit 1; }

fuzz-clean:
	rm -rf $(FUZZ_DIR)

.PHONY: fuzz-build fuzz fuzz-ci fuzz-clean
