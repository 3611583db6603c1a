#!/usr/bin/python3
"""The MPI layer is the only code that calls MPI.

Scans every C and C++ source of the tree (tests and build folders aside) for a name of MPI's
(`MPI_` and a capital letter) outside src/core/mpi.hpp and src/core/mpi.cpp, comments and string
literals left out, and fails naming each file and line. Run by CTest as unit.mpi_layer:

    /usr/bin/python3 tests/unit/check_mpi_layer.py SOURCE_DIR
"""

import os
import re
import sys

# The MPI layer itself.
LAYER = {"src/core/mpi.hpp", "src/core/mpi.cpp"}

# The simulated-cluster harness of bench/scale.sh: it interposes on MPI itself (PMPI wrappers that
# time the code between MPI calls, and SMPI's shared allocations), so it is MPI code by nature.
HARNESS = ("bench/scale/",)

# Names another library's interface makes its callers spell (types and constants, never calls).
ALLOWED = {
    # PETSc's error handler type, PetscErrorCode (*)(MPI_Comm, int, ...): src/core/petsc.cpp.
    "MPI_Comm": "the first parameter of a PETSc error handler",
    # HDF5's H5Pset_fapl_mpio(fapl, comm, info) takes an MPI_Info; "no hints" is MPI_INFO_NULL
    # (hints, when there are any, are an mpi::Info).
    "MPI_INFO_NULL": "H5Pset_fapl_mpio's info argument when there are no hints",
}

SOURCE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".hpp.in", ".h.in")
SKIPPED_FOLDERS = {".git", "tests", "out"}
MPI_NAME = re.compile(r"\bMPI_[A-Z][A-Za-z0-9_]*")


def code_only(text):
    """text with comments, string and character literals blanked out (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            open_paren = text.find("(", i + 2)
            delimiter = ")" + text[i + 2 : open_paren] + '"'
            end = text.find(delimiter, open_paren)
            end = n if end < 0 else end + len(delimiter)
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c == '"' or (c == "'" and not (i > 0 and text[i - 1].isalnum())):  # 1'000 is a digit separator
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def violations(relative, text):
    """(line, name, source line) of every MPI name the file may not use."""
    if relative in LAYER or relative.startswith(HARNESS):
        return []
    lines = text.splitlines()
    found = []
    for number, line in enumerate(code_only(text).splitlines(), start=1):
        for name in MPI_NAME.findall(line):
            if name not in ALLOWED:
                found.append((number, name, lines[number - 1].strip()))
    return found


def sources(root):
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            s
            for s in subfolders
            if s not in SKIPPED_FOLDERS
            and not s.startswith("build")
            and not os.path.exists(os.path.join(folder, s, "CMakeCache.txt"))
        )
        for name in sorted(files):
            if name.endswith(SOURCE_SUFFIXES):
                path = os.path.join(folder, name)
                yield os.path.relpath(path, root).replace(os.sep, "/"), path


def self_test():
    """The scanner finds a call and a constant, and nothing in comments, strings or the layer."""
    sample = (
        "int a = 1'000; // MPI_Barrier(comm) in a comment\n"
        '/* MPI_Send(\n   ...) */ const char* s = "MPI_Recv";\n'
        "MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_INT, MPI_MAX, c);\n"
        "H5Pset_fapl_mpio(fapl, comm.get(), MPI_INFO_NULL); char q = '\"'; MPI_Wtime();\n"
    )
    got = [(line, name) for line, name, _ in violations("solvers/x.cpp", sample)]
    want = [(4, "MPI_Allreduce"), (4, "MPI_IN_PLACE"), (4, "MPI_INT"), (4, "MPI_MAX"), (5, "MPI_Wtime")]
    if got != want:
        sys.exit(f"check_mpi_layer.py: the scanner is broken: found {got}, expected {want}")
    if violations("src/core/mpi.cpp", sample):
        sys.exit("check_mpi_layer.py: the scanner is broken: it flags the MPI layer itself")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_mpi_layer.py SOURCE_DIR")
    root = sys.argv[1]
    self_test()
    scanned = 0
    failures = []
    for relative, path in sources(root):
        scanned += 1
        with open(path, encoding="utf-8", errors="replace") as f:
            for line, name, text in violations(relative, f.read()):
                failures.append(f"{relative}:{line}: {name} outside the MPI layer (src/core/mpi.*): {text}")
    if scanned < 10 or not any(r in LAYER for r, _ in sources(root)):
        sys.exit(f"check_mpi_layer.py: {root} does not look like slab's source tree ({scanned} sources)")
    if failures:
        print("\n".join(failures))
        print(f"{len(failures)} use(s) of MPI outside src/core/mpi.*: add what is needed to mpi::Comm and call that")
        return 1
    print(f"{scanned} C/C++ sources: MPI is called from src/core/mpi.* only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
