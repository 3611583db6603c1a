#!/usr/bin/env bash
# Installs what slab needs from Debian's packages, and nothing else. A second run is a no-op.
#
#   jobs/setup.sh            build and run dependencies
#   jobs/setup.sh --bench    also what bench/ needs: SciPy's banded solver for bench/run.sh's peers,
#                            SimGrid's SMPI for bench/scale.sh
#   jobs/setup.sh --tests    also what the test suite needs (Slurm, munge, clang for the fuzzer,
#                            iproute2 for the four-node cluster, the bench's packages for its smoke
#                            runs, and the clients the outputs are loaded with: xarray, netCDF4,
#                            h5netcdf, pandas, pint, ncdump, udunits2)
#
# Where apt is not available or the user is not root (a cluster login node), it installs nothing:
# it checks that the stack is provided some other way (modules, PETSC_DIR/PETSC_ARCH,
# PKG_CONFIG_PATH) and names exactly what is missing.
set -euo pipefail

packages=(
  g++ make cmake pkg-config git zlib1g-dev liblapack-dev
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  petsc-dev
  libcli11-dev libtomlplusplus-dev
  libgtest-dev
  python3-numpy python3-h5py python3-matplotlib
)
case "${1:-}" in
  --bench) packages+=(python3-scipy libsimgrid-dev) ;;
  --tests) packages+=(python3-scipy libsimgrid-dev slurm-wlm munge iproute2 clang libclang-rt-14-dev
                      python3-xarray python3-netcdf4 python3-h5netcdf python3-pandas python3-pint netcdf-bin
                      udunits-bin) ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
  if ((${#missing[@]} == 0)); then
    echo "setup: all ${#packages[@]} Debian packages already installed"
    exit 0
  fi
  echo "setup: installing ${missing[*]}"
  start=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  echo "setup: installed ${#missing[@]} packages in $(($(date +%s) - start)) s"
  exit 0
fi

# No apt or not root: find the stack as a cluster provides it.
problems=()
need() { command -v "$1" >/dev/null 2>&1 || problems+=("$1 ($2)"); }
need cmake "CMake >= 3.25: module load cmake"
need mpicxx "an MPI compiler wrapper: module load openmpi"
need mpiexec "an MPI launcher: module load openmpi"
need pkg-config "pkg-config, used to find PETSc"
if [[ -n "${PETSC_DIR:-}" ]]; then
  export PKG_CONFIG_PATH="${PETSC_DIR}/${PETSC_ARCH:-}/lib/pkgconfig:${PETSC_DIR}/lib/pkgconfig:${PKG_CONFIG_PATH:-}"
fi
if command -v pkg-config >/dev/null 2>&1 && ! pkg-config --exists petsc PETSc 2>/dev/null; then
  problems+=("PETSc (module load petsc, or set PETSC_DIR/PETSC_ARCH so that petsc.pc is on PKG_CONFIG_PATH)")
fi
if ! command -v h5pcc >/dev/null 2>&1 && [[ -z "${HDF5_ROOT:-}${HDF5_DIR:-}" ]]; then
  problems+=("parallel HDF5 (module load hdf5/parallel, or set HDF5_ROOT)")
fi
if ! /usr/bin/env python3 -c "import h5py, numpy" >/dev/null 2>&1; then
  problems+=("python3 with h5py and numpy, for loading results and for the tests")
fi
if ((${#problems[@]} > 0)); then
  echo "setup: cannot install packages here (no apt-get, or not root), and these are missing:" >&2
  for p in "${problems[@]}"; do echo "  - $p" >&2; done
  exit 1
fi
echo "setup: no apt/root; using the MPI, HDF5 and PETSc found in the environment"
