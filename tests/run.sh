#!/usr/bin/env bash
# The test command: installs what is missing, builds (Debug, -Wall -Wextra -Werror) into
# build/debug, and runs every test with CTest.
#
#   tests/run.sh             everything
#   tests/run.sh -L mpi      extra arguments go to ctest (here: only the MPI tests)
set -euo pipefail
cd "$(dirname "$0")/.."

jobs/setup.sh --tests
start=$(date +%s)
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$(nproc)"
echo "tests: built in $(($(date +%s) - start)) s"
ctest --preset debug -j "$(nproc)" "$@"
