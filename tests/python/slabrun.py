"""Runs the slab executable under mpirun for the end-to-end and Python tests.

The executable comes from SLAB_EXE (CTest sets it); the MPI environment from jobs/mpi.env, as for
the MPI unit tests and the jobs: shared memory, oversubscribed, and as root where needed, or TCP on
loopback (no shared memory between ranks, as between nodes) when SLAB_MPI_TRANSPORT=tcp.
"""
import os
import signal
import subprocess
import tempfile
import unittest

SLAB = os.environ.get("SLAB_EXE", "build/debug/slab")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")
TIMEOUT = 120



def mpi_env(*scopes):
    """The jobs/mpi.env lines of these scopes, as a dict."""
    env = {}
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "jobs", "mpi.env")) as f:
        for line in f:
            scope, _, assignment = line.strip().partition(" ")
            if scope in scopes:
                name, _, value = assignment.partition("=")
                env[name] = value
    return env


TRANSPORT = os.environ.get("SLAB_MPI_TRANSPORT", "node")
MPI_ENV = mpi_env(TRANSPORT, "root", "test")


def run(ranks, *args, cwd=None, env=None, file_size_limit=None, check=False):
    """Runs `mpiexec -n ranks slab args...`; returns the CompletedProcess (text output)."""
    full_env = dict(os.environ, **MPI_ENV, **(env or {}))

    def limit():
        if file_size_limit is not None:
            import resource
            # Ignore SIGXFSZ so that writes past the limit fail with EFBIG instead of killing.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    result = subprocess.run([MPIEXEC, "-n", str(ranks), SLAB, *map(str, args)], cwd=cwd, env=full_env,
                            capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=limit)
    if check and result.returncode != 0:
        raise AssertionError(f"slab {' '.join(map(str, args))} at {ranks} ranks failed "
                             f"({result.returncode}):\n{result.stderr}")
    return result


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("slab: error:")]


class TempDirTest(unittest.TestCase):
    """A test case with a fresh working directory, self.dir."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="slab-test-")
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def slab(self, ranks, *args, **kwargs):
        kwargs.setdefault("cwd", self.dir)
        kwargs.setdefault("check", True)
        return run(ranks, *args, **kwargs)
