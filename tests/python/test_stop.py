"""Runs stopped by a signal or a time limit (src/stop.hpp): every rank stops at the same step, writes
a checkpoint, removes the temporary output, rank 0 prints one line "slab: stopped by SIG... at step N
of M; resume with --restart FILE", and the ranks exit 75. Resumed from that checkpoint, on another
rank count where the method allows, the output is the same bits as a run that never stopped.

Launchers differ (docs/running.md, "Stopping and resuming"): mpirun forwards SIGUSR1 and SIGUSR2 at once and
then reports the ranks' 75; given SIGTERM or SIGINT it sends SIGTERM to the ranks only after
odls_base_sigkill_timeout seconds, SIGKILL as long again after that, and exits 1 whatever the ranks
return. Slurm (srun, slurmstepd) signals every rank directly."""
import os
import signal
import subprocess
import time
import unittest

import h5py
import numpy as np

from slabrun import MPIEXEC, MPI_ENV, SLAB, TIMEOUT, TempDirTest

EXPLICIT = ["heat", "--nx", "3001", "--t-end", "0.1"]  # 9 s at 2 ranks (Debug): outlasts mpirun passing SIGTERM on
CRANK_NICOLSON = ["heat", "--nx", "1001", "--t-end", "0.01", "--scheme", "crank-nicolson", "--cfl", "5"]
GD = ["regress", "--rows", "20000", "--cols", "8", "--lr", "0.002", "--iters", "1000", "--tol", "0"]
HEAT_DATA = ["heat/u", "heat/t", "heat/x"]
# A step small enough that gd runs about 50000 iterations before the loss stops changing (about 15 s
# at 2 ranks): the time-limit test sizes its work in seconds and must not converge first.
SLOW_GD = ["regress", "--rows", "20000", "--cols", "8", "--lr", "0.0002"]
GD_DATA = ["regression/w", "regression/b", "regression/history/loss"]
# mpirun waits this long before it passes SIGTERM on, and as long again before SIGKILL; and as long
# after one rank has died before it kills the others (the suite's MPI environment sets 0).
SIGKILL_TIMEOUT = "3"
STOPPED = 75


def launcher_env():
    """The suite's MPI environment with mpirun's grace (SIGKILL_TIMEOUT) restored: these tests are
    about what the ranks do in it."""
    return {**os.environ, **MPI_ENV, "OMPI_MCA_odls_base_sigkill_timeout": SIGKILL_TIMEOUT}


def children(pid):
    """The processes whose parent is pid: the ranks of a one-node mpirun."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    return found


class StopTest(TempDirTest):
    def reference(self, args, datasets):
        self.slab(2, *args, "-q", "--out", "whole.h5")
        with h5py.File(self.path("whole.h5")) as f:
            return {name: f[name][()] for name in datasets}

    def interrupt(self, ranks, args, send, io="parallel"):
        """Starts `mpirun -n ranks slab args --out run.h5`, calls send(process) once the run reports
        its first tenth of progress, and returns (exit code, stderr)."""
        process = subprocess.Popen([MPIEXEC, "-n", str(ranks), SLAB, *args, "--io", io, "--out", "run.h5"],
                                   cwd=self.dir, env=launcher_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
        lines = []
        for line in process.stderr:
            lines.append(line)
            if line.startswith(("step ", "iteration ")):
                break
        self.assertIsNone(process.poll(), "the run ended before it could be stopped:\n" + "".join(lines))
        send(process)
        _, rest = process.communicate(timeout=TIMEOUT)
        return process.returncode, "".join(lines) + rest

    def check_stopped(self, stderr, signal_name, unit="step"):
        stopped = [line for line in stderr.splitlines() if line.startswith("slab: stopped")]
        self.assertEqual(len(stopped), 1, stderr)
        self.assertRegex(stopped[0], rf"^slab: stopped by {signal_name} at {unit} \d+ of \d+; resume with --restart "
                         r"run\.h5\.ckpt\.h5$")
        self.assertNotIn("slab: error", stderr)
        # Only the checkpoint: no .partial, no output.
        self.assertEqual(sorted(os.listdir(self.dir)), ["run.h5.ckpt.h5", "whole.h5"])
        return int(stopped[0].split(f" at {unit} ")[1].split()[0])

    def check_resumes(self, ranks, args, datasets, reference, stopped_at):
        self.slab(ranks, *args, "-q", "--restart", "run.h5.ckpt.h5", "--out", "run.h5")
        self.assertEqual(sorted(os.listdir(self.dir)), ["run.h5", "whole.h5"])  # the checkpoint is removed
        with h5py.File(self.path("run.h5")) as f:
            self.assertEqual(f["provenance"].attrs["restarted_from_step"], stopped_at)
            for name in datasets:
                np.testing.assert_array_equal(f[name][()], reference[name], err_msg=name)


class SignalsToMpirun(StopTest):
    """SIGTERM and SIGINT to mpirun, as a user or a batch system without Slurm's own launcher sends
    them. mpirun's exit code is Open MPI's (1); the ranks' is 75, and the stop line says so."""

    def test_sigterm_at_2_ranks_and_sigint_at_3_resume_bitwise_on_the_other_count(self):
        reference = self.reference(EXPLICIT, HEAT_DATA)
        for sig, ranks, resume_ranks, io in ((signal.SIGTERM, 2, 3, "parallel"), (signal.SIGINT, 3, 2, "gather")):
            with self.subTest(signal=sig.name, ranks=ranks, io=io):
                code, stderr = self.interrupt(ranks, EXPLICIT, lambda p: p.send_signal(sig), io)
                self.assertEqual(code, 1, stderr)
                # mpirun turns either into SIGTERM for the ranks.
                stopped_at = self.check_stopped(stderr, "SIGTERM")
                self.check_resumes(resume_ranks, EXPLICIT, HEAT_DATA, reference, stopped_at)
                os.remove(self.path("run.h5"))


class SignalsToRanks(StopTest):
    """SIGUSR1 through mpirun (forwarded at once), and signals sent to every rank as Slurm does: the
    exit code is slab's 75."""

    def test_sigusr1_through_mpirun_stops_gradient_descent_at_3_ranks_and_it_resumes_at_2(self):
        reference = self.reference(GD, GD_DATA)
        code, stderr = self.interrupt(3, GD, lambda p: p.send_signal(signal.SIGUSR1))
        self.assertEqual(code, STOPPED, stderr)
        stopped_at = self.check_stopped(stderr, "SIGUSR1", "iteration")
        self.check_resumes(2, GD, GD_DATA, reference, stopped_at)

    def test_sigterm_and_sigusr2_to_every_rank_stop_crank_nicolson(self):
        reference = self.reference(CRANK_NICOLSON, HEAT_DATA)
        for sig, io in ((signal.SIGTERM, "gather"), (signal.SIGUSR2, "parallel")):
            with self.subTest(signal=sig.name, io=io):
                def to_every_rank(process):
                    ranks = children(process.pid)
                    self.assertEqual(len(ranks), 2)
                    for pid in ranks:
                        os.kill(pid, sig)
                code, stderr = self.interrupt(2, CRANK_NICOLSON, to_every_rank, io)
                self.assertEqual(code, STOPPED, stderr)
                stopped_at = self.check_stopped(stderr, sig.name)
                # The direct solver gives the same bits on any rank count: resume on 3.
                self.check_resumes(3, CRANK_NICOLSON, HEAT_DATA, reference, stopped_at)
                os.remove(self.path("run.h5"))


class SecondSignal(TempDirTest):
    """A second signal to the ranks while the final checkpoint is being written (Slurm signals every
    rank): they end at once, after removing what this run created and had not finished (the output's
    and the checkpoint's temporaries, Open MPI's per-rank files beside them, their locks), and
    nothing else: not a file that merely has the name slab once used for its temporaries."""

    def test_a_second_signal_during_the_checkpoint_leaves_only_what_was_there(self):
        for nx in ("2000001", "8000001"):  # a larger state if the checkpoint outran the second signal
            with open(self.path("run.h5.partial"), "w") as f:
                f.write("not slab's")
            if self.signal_twice(["heat", "--nx", nx, "--steps", "1000000", "-q"]):
                self.assertEqual(os.listdir(self.dir), ["run.h5.partial"])
                return
            for name in os.listdir(self.dir):
                os.remove(self.path(name))
        self.fail("the checkpoint was always written before the second signal reached the ranks")

    def signal_twice(self, args):
        """SIGTERM to every rank once the output's temporary exists, SIGUSR1 once the checkpoint's
        does. False if the run stopped normally (exit 75) before the second signal arrived."""
        process = subprocess.Popen([MPIEXEC, "-n", "2", SLAB, *args, "--out", "run.h5"], cwd=self.dir,
                                   env=launcher_env(), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        try:
            for prefix, sig in (("run.h5.", signal.SIGTERM), ("run.h5.ckpt.h5.", signal.SIGUSR1)):
                deadline = time.monotonic() + TIMEOUT
                while not any(name.startswith(prefix) and name.endswith(".partial") and name != "run.h5.partial"
                              for name in os.listdir(self.dir)):
                    self.assertIsNone(process.poll(), "the run ended before it was signalled")
                    self.assertLess(time.monotonic(), deadline)
                    time.sleep(0.001)
                for pid in children(process.pid):
                    os.kill(pid, sig)
            _, stderr = process.communicate(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
        if process.returncode == STOPPED:
            return False
        self.assertNotIn("slab: error", stderr)
        self.assertIn("exited on signal 10", stderr)  # mpirun's report of the ranks' SIGUSR1
        return True


class TimeLimit(StopTest):
    """--time-limit: a run longer than its limit completes over several runs without losing a step."""

    def iterations_lasting(self, seconds):
        """The gd iterations of GD's data that take about `seconds` on this machine now (sizing, so
        that the work outlasts the limit whatever the build and the load)."""
        def wall(iters):
            start = time.monotonic()
            self.slab(2, *SLOW_GD, "--iters", str(iters), "--tol", "0", "-q", "--out", "probe.h5", "--overwrite")
            return time.monotonic() - start
        per_iteration = max((wall(400) - wall(100)) / 300, 1e-5)
        os.remove(self.path("probe.h5"))
        return str(max(400, int(seconds / per_iteration)))

    def test_gradient_descent_finishes_over_runs_with_a_time_limit(self):
        args = [*SLOW_GD, "--iters", self.iterations_lasting(12), "--tol", "0"]
        reference = self.reference(args, GD_DATA)
        reached, restart = [0], []
        while True:
            result = self.slab(2, *args, "-q", "--time-limit", "4", "--checkpoint-every", "50", *restart,
                               "--out", "run.h5", check=False)
            if result.returncode == 0:
                break
            self.assertEqual(result.returncode, STOPPED, result.stderr)
            line = result.stderr.strip()
            self.assertRegex(line, r"^slab: stopped by the time limit at iteration \d+ of \d+; resume with --restart")
            reached.append(int(line.split(" at iteration ")[1].split()[0]))
            self.assertGreater(reached[-1], reached[-2], "every run makes progress")
            restart = ["--restart", "run.h5.ckpt.h5"]
        self.assertGreater(len(reached), 1, "the run fitted in its time limit: make it longer")
        with h5py.File(self.path("run.h5")) as f:
            for name in GD_DATA:
                np.testing.assert_array_equal(f[name][()], reference[name], err_msg=name)
        self.assertEqual(sorted(os.listdir(self.dir)), ["run.h5", "whole.h5"])


if __name__ == "__main__":
    unittest.main()
