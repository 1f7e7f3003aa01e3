#!/bin/bash
# The example must run and show what it composed.
set -euo pipefail
out=$("$TEST_SRCDIR/__main__/examples/tree/tree")
echo "$out"
grep -q "hostname  (8 bytes, mode 644)" <<<"$out"
grep -q "hostname -> /etc/hostname" <<<"$out"
grep -q "report.txt  (6 bytes" <<<"$out"
grep -qE " /tmp tmpfs tmpfs rw,size=16384k$" <<<"$out"
grep -q " /srv/data /mnt tmpfs" <<<"$out"
echo "1 passed, 0 failed"
