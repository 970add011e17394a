#!/usr/bin/env bash
# Install what `make vmtest` needs beyond tests/install-deps.sh (idempotent):
# qemu-system-x86 (qemu-system-x86_64), busybox-static (the guest's userland),
# cpio (the initramfs).  All from Debian's archive.
exec "$(dirname "$0")/../install-deps.sh" qemu-system-x86 busybox-static cpio
