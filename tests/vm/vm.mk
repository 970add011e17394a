# tests/vm/vm.mk - cross-kernel tests under qemu (included by the Makefile).
#
#   make vmtest       build the static binaries and fixtures, boot Debian's
#                     stock cloud kernel (6.1) under qemu TCG, record the
#                     matrix with every backend in the guest, then check the
#                     files on this host with tests/test_vm.py
#   make vm-deps      apt-get install qemu-system-x86 busybox-static cpio
#   make vm-kernel    fetch the kernel .deb into $(VM_CACHE) (apt-get download)
#   make vm-vmlinux   fetch that kernel's -dbg package and keep only its vmlinux
#                     (tests/test_vm.py does it itself for the --vmlinux tests)
#   make vm-fixtures  the statically linked fixtures the guest runs
#   make vm-clean     drop build-static/vm (not the kernel cache)
#   (make bench-vm, in bench/bench.mk, boots the same guest for benchmarks)
#
# The guest gets only self-contained binaries: $(VM_STATIC)/sockrec and
# sockreport (make STATIC=1) and $(VM_STATIC)/vmfixtures/*, no shared library
# (make bench-vm adds the host's perf with its libraries: tests/vm/run.sh's
# VM_EXTRA_DYN).

VM_DIR := tests/vm
VM_CACHE ?= $(VM_DIR)/cache
VM_STATIC := build-static
VM_OUT ?= $(VM_STATIC)/vm/out
VM_FIXTURE_BINS := $(VM_STATIC)/vmfixtures/leaker $(VM_STATIC)/vmfixtures/tcp_pair \
	$(VM_STATIC)/vmfixtures/nofp_static

vm-deps:
	$(VM_DIR)/install-deps.sh

vm-kernel: vm-deps
	$(VM_DIR)/get-kernel.sh $(VM_CACHE)

vm-vmlinux: vm-deps
	$(VM_DIR)/get-vmlinux.sh $(VM_CACHE)

# Same flags as the other fixtures (frame pointers, -g), linked statically.
$(VM_STATIC)/vmfixtures/%: tests/fixtures/%.c
	$(call msg,FIXTURE,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(FIXTURE_CFLAGS) -static $< -o $@

# The CFI unwinder's guest fixture: no frame pointers (NOFP_CFLAGS).
$(VM_STATIC)/vmfixtures/nofp_static: tests/fixtures/nofp/nofp_static.c tests/fixtures/nofp/nofp_step.h
	$(call msg,FIXTURE,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(NOFP_CFLAGS) -static $< -o $@

vm-fixtures: $(VM_FIXTURE_BINS)

# With the benchmark's workloads and floor, which bench/vm/run.py (make
# bench-vm; its quick mode in tests/test_vm.py) runs in the guest.
vm-static:
	$(MAKE) STATIC=1 BUILD=$(VM_STATIC) all $(addprefix $(VM_STATIC)/bench/,churn tcp floor)

# The host side runs this build's sockreport (and sockrec for the host
# comparison); the kernel is fetched by the test itself, so that a missing
# kernel package can be told apart from a broken VM.
vmtest: vm-deps all fixtures vm-static vm-fixtures
	SOCKREC_BUILD=$(abspath $(BUILD)) SREC_SOCKREPORT=$(abspath $(BUILD))/sockreport \
	SREC_VM=1 SREC_VM_OUT=$(abspath $(VM_OUT)) VM_CACHE=$(abspath $(VM_CACHE)) \
	VM_BIN=$(abspath $(VM_STATIC)) VM_FIXTURES=$(abspath $(VM_STATIC))/vmfixtures \
		$(PYTEST) -v -rfEs tests/test_vm.py $(PYTEST_ARGS)

vm-clean:
	rm -rf $(VM_STATIC)/vm

.PHONY: vm-deps vm-kernel vm-vmlinux vm-fixtures vm-static vmtest vm-clean
