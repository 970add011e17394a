#!/bin/sh
# The three structure measures of issue #19, run from the top of the tree:
#   1. files that name one record type (STATE) in any layer: what adding a
#      record type touches today;
#   2. the 15 longest C functions;
#   3. what `duplicates` (on PATH in the dev environment) finds in the tree.
set -eu
cd "$(dirname "$0")/.."
echo "== files naming the STATE record type"
grep -rlE '\b(SREC_R_STATE|SR_EV_STATE|sr_state|FIELDS_STATE|f_state)\b|\bu\.state\b|"state"|\bSTATE\b' \
	bpf record format report tests spec bench man | sort | tee /dev/stderr | wc -l
echo "== C files of bpf/ record/ format/ report/ naming the STATE type's identifiers"
grep -rlE '\b(SREC_R_STATE|SR_EV_STATE|sr_state|FIELDS_STATE|f_state)\b|\bu\.state\b' \
	--include='*.c' --include='*.h' bpf record format report | sort | tee /dev/stderr | wc -l
echo "== 15 longest functions"
python3 tools/longest_functions.py -n 15
if command -v duplicates >/dev/null; then
	echo "== duplicates"
	duplicates --seconds 120 --most 10
fi
