#!/bin/sh
# Runs each test binary given, prints its output, and ends with the total "N passed, M failed".
pass=0; fail=0; bad=0
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out"
  line=$(printf '%s\n' "$out" | grep -E '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -z "$line" ]; then echo "$t: no result line (rc=$rc)"; bad=$((bad+1)); continue; fi
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
  pass=$((pass+p)); fail=$((fail+f))
  if [ $rc -ne 0 ] && [ $f -eq 0 ]; then echo "$t: exit status $rc"; bad=$((bad+1)); fi
done
fail=$((fail+bad))
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
