#!/usr/bin/env bash
# A bounded libFuzzer run (clang from Debian) of slab's input readers: .npy/.npz headers, CSV,
# command-line values and --config TOML files, with AddressSanitizer and UBSan. Seeds are in tests/fuzz/corpus; findings
# fail the test.
#
#   tests/fuzz/run_fuzz.sh WORK_DIR GENERATED_INCLUDE_DIR [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$1
generated=$2
seconds=${3:-30}
command -v clang++ >/dev/null || { echo "SKIPPED: clang++ is not installed (jobs/setup.sh --tests installs it)"; exit 77; }
mkdir -p "$work/corpus"
cp "$here"/corpus/* "$work/corpus/"
# The readers and the command line, without MPI, HDF5 or PETSc: their sources compile on their own.
# toml++ is the shared library slab links (its header-only build asserts on some malformed headers).
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$repo/src" -I"$repo" -I"$generated" \
  -I/usr/include/hdf5/openmpi -I/usr/lib/x86_64-linux-gnu/openmpi/include \
  $(pkg-config --cflags petsc) -DOMPI_SKIP_MPICXX=1 -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 \
  "$here/fuzz_readers.cpp" "$repo/io/numpy_format.cpp" "$repo/io/input_file.cpp" "$repo/io/text_format.cpp" "$repo/src/core/tensor.cpp" \
  "$repo/src/app/cli.cpp" "$repo/src/core/checked.cpp" "$repo/io/parallel_io.cpp" -ltomlplusplus -lz -o "$work/fuzz_readers"
cd "$work"
./fuzz_readers -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 corpus 2>&1 | tail -15
echo "fuzz: no crash in ${seconds} s"

# The restart check over checkpoint-shaped records (src/app/checkpoint_record.cpp), half the time.
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$repo/src" -I"$repo" "$here/fuzz_checkpoint.cpp" "$repo/src/app/checkpoint_record.cpp" \
  "$repo/src/core/tensor.cpp" -o "$work/fuzz_checkpoint"
mkdir -p "$work/corpus_checkpoint"
./fuzz_checkpoint -max_total_time="$(((seconds + 1) / 2))" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  corpus_checkpoint 2>&1 | tail -15
echo "fuzz: checkpoint check, no crash in $(((seconds + 1) / 2)) s"
