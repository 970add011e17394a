#!/usr/bin/env bash
# Static analysis of the C sources: cppcheck and clang-tidy (.clang-tidy
# says which checks run and why others do not).  Every finding fails;
# the few suppressed in the code carry their reason next to them.
# usage: tests/lint.sh BUILD_DIR   (the build dir holds the BPF skeleton)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
srcs=(format/*.c record/*.c report/*.c)

echo "lint: cppcheck"
# LIBBPF_OPTS is libbpf's designated-initializer macro; cppcheck cannot
# expand it, so give it a shape it understands.
cppcheck --quiet --error-exitcode=1 --inline-suppr --std=c11 \
  --enable=warning,portability,performance \
  --suppress=missingIncludeSystem --suppress=missingInclude \
  -DLIBBPF_OPTS\(t,n,...\)="struct t n" \
  -Iformat -Ibpf -Irecord -Ireport "${srcs[@]}"

echo "lint: clang-tidy (${#srcs[@]} files)"
rc=0
for f in "${srcs[@]}"; do
  extra=()
  # The generated skeleton hands its allocation to the object it returns;
  # the analyzer loses track of that inside bpftool's code, not ours.
  [ "$f" = record/backend.c ] && extra=(--checks=-clang-analyzer-unix.Malloc)
  clang-tidy --quiet "${extra[@]}" "$f" -- -std=c11 -D_GNU_SOURCE -Iformat -isystem "$build" \
    -isystem "$build/pprof" \
    -Ibpf -I/usr/include/libdwarf 2>/dev/null || rc=1
done
[ $rc -eq 0 ] && echo "lint: clean"
exit $rc
