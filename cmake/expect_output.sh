#!/usr/bin/env bash
# expect_output.sh PROGRAM PATTERN... - run PROGRAM (no arguments) and check
# that it exits with 0 and that each extended regular expression PATTERN
# matches a line of its standard output. Prints the output either way.
set -u
program=$1
shift
out=$("$program")
status=$?
printf '%s\n' "$out"
if [ "$status" -ne 0 ]; then
  echo "expect_output: $program exited with status $status" >&2
  exit 1
fi
for pattern in "$@"; do
  if ! grep -Eq -- "$pattern" <<<"$out"; then
    echo "expect_output: no line of $program's output matches: $pattern" >&2
    exit 1
  fi
done
