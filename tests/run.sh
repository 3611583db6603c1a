#!/usr/bin/env bash
# The test command: installs what is missing, builds (Debug, -Wall -Wextra -Werror) into
# build/debug, and runs every test with CTest.
#
#   tests/run.sh               everything
#   tests/run.sh --asan        then again built with AddressSanitizer + UBSan (build/asan):
#                              unit, MPI and end-to-end tests
#   tests/run.sh -L mpi        other arguments go to ctest (here: only the MPI tests)
set -euo pipefail
cd "$(dirname "$0")/.."

asan=0
if [[ "${1:-}" == "--asan" ]]; then
  asan=1
  shift
fi

jobs/setup.sh --tests
start=$(date +%s)
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$(nproc)"
echo "tests: built in $(($(date +%s) - start)) s"
ctest --preset debug -j "$(nproc)" "$@"

if ((asan)); then
  start=$(date +%s)
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$(nproc)"
  echo "tests: built with sanitizers in $(($(date +%s) - start)) s"
  ctest --preset asan -j "$(nproc)" -L "unit|mpi|e2e|python|hostile" "$@"
fi
