"""How each figure of bench/migrate.py is taken: a subprocess's wall time and its process tree's memory.

Kept apart from what is measured so the method can be checked on its own: RSS of the whole tree
sampled every 50 ms, PSS less often, each process's VmHWM, ru_maxrss from wait4; and the CPU time
other processes on the machine used meanwhile, so a disturbed figure says so.
"""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SAMPLE_EVERY = 0.05  # seconds between RSS samples of the process tree
PSS_EVERY = 4  # PSS (smaps_rollup, costlier) every this many samples
MB = 1e6


# --------------------------------------------------------------------------------------------
# Measuring a subprocess: wall time, peak RSS / PSS of its whole process tree, its max RSS.


@dataclass
class Measured:
    returncode: int
    t0: float
    t1: float
    peak_tree_rss: int = 0  # bytes, sum over the process tree, sampled every SAMPLE_EVERY
    peak_tree_pss: int = 0  # bytes, same with PSS (shared pages counted once), sampled less often
    max_procs: int = 0
    maxrss: int = 0  # bytes: ru_maxrss of the child and its reaped descendants (wait4); see README
    parent_maxrss: int = 0  # bytes: this process's own ru_maxrss when the child was started
    hwm: dict[int, int] = field(default_factory=dict)  # pid -> VmHWM bytes (kernel's own peak RSS)
    procs: list[psutil.Process] = field(default_factory=list, repr=False)  # the tree as last listed
    marks: dict[str, float] = field(default_factory=dict)
    output: str = ""
    aborted: str | None = None

    @property
    def wall(self) -> float:
        return self.t1 - self.t0

    @property
    def max_hwm(self) -> int:
        """Peak RSS of the largest single process of the tree (VmHWM: exact, not sampled)."""
        return max(self.hwm.values(), default=0)

    @property
    def hwm_sum(self) -> int:
        """Sum of every process's own peak: an upper bound of the tree's peak (the peaks need not coincide)."""
        return sum(self.hwm.values())


def run_measured(cmd: list[str], *, watch: tuple[Path, str] | None = None, timeout: float | None = None,
                 abort_pattern: str | None = None, cwd: Path | None = None) -> Measured:
    """Run ``cmd`` to its end, sampling its process tree's memory every ``SAMPLE_EVERY`` seconds.

    ``watch`` (directory, glob): records when a matching file first appears (``marks["seen"]``).
    ``abort_pattern``: kill the child when its output shows it (pgloader hangs after a crash).
    """
    with tempfile.TemporaryFile("w+b") as output:
        parent_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=output, stderr=subprocess.STDOUT, cwd=cwd)
        measured = Measured(returncode=-1, t0=t0, t1=t0, parent_maxrss=parent_maxrss)
        root = psutil.Process(proc.pid)
        n = 0
        next_sample = t0
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            _sample(root, measured, pss=n % PSS_EVERY == 0)
            n += 1
            now = time.monotonic()
            if watch is not None and "seen" not in measured.marks and any(watch[0].glob(watch[1])):
                measured.marks["seen"] = now
            if n % 20 == 0 and (abort_pattern or timeout):
                reason = None
                if timeout and now - t0 > timeout:
                    reason = f"timed out after {timeout:.0f} s"
                elif abort_pattern:
                    output.seek(0)
                    if abort_pattern.encode() in output.read():
                        reason = f"crashed ({abort_pattern!r} in its output)"
                if reason:
                    measured.aborted = reason
                    _kill_tree(root)
            next_sample += SAMPLE_EVERY
            time.sleep(max(0.0, next_sample - time.monotonic()))
        measured.t1 = time.monotonic()
        proc.returncode = os.waitstatus_to_exitcode(status)
        measured.returncode = proc.returncode
        measured.maxrss = rusage.ru_maxrss * 1024  # KiB on Linux
        output.seek(0)
        measured.output = output.read().decode("utf-8", "replace")
    return measured


def _sample(root: psutil.Process, measured: Measured, *, pss: bool) -> None:
    """One sample; the tree is re-listed only with each PSS sample (listing reads every /proc/PID/stat)."""
    if pss or not measured.procs:
        try:
            measured.procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
    procs = measured.procs
    rss = pss_total = 0
    for p in procs:
        try:
            rss += p.memory_info().rss
            if pss:
                pss_total += p.memory_full_info().pss
        except psutil.Error:
            pass
        hwm = _vm_hwm(p.pid)
        if hwm is not None:
            measured.hwm[p.pid] = max(measured.hwm.get(p.pid, 0), hwm)
    measured.peak_tree_rss = max(measured.peak_tree_rss, rss)
    measured.peak_tree_pss = max(measured.peak_tree_pss, pss_total)
    measured.max_procs = max(measured.max_procs, len(procs))


def _vm_hwm(pid: int) -> int | None:
    """The kernel's peak RSS of ``pid`` since its exec (unlike ru_maxrss, not inherited from the parent)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _kill_tree(root: psutil.Process) -> None:
    try:
        victims = [*root.children(recursive=True), root]
    except psutil.Error:
        victims = [root]
    for p in victims:
        try:
            p.kill()
        except psutil.Error:
            pass


# --------------------------------------------------------------------------------------------
# Other work on the machine: a benchmark on a shared 2-core machine must say when it was disturbed.

_PG_AUXILIARY = ("checkpointer", "background writer", "walwriter", "autovacuum", "logical replication",
                 "stats collector", "archiver", "io worker")


def _others(run_id: str) -> dict[tuple[int, float], float]:
    """CPU seconds so far of every process that is not this benchmark's work, keyed by (pid, start time).

    Ours: this process and its descendants, and PostgreSQL backends serving this run's databases
    (their titles name it); PostgreSQL's shared background processes count as neither.
    """
    ours = {os.getpid()}
    try:
        ours |= {p.pid for p in psutil.Process().children(recursive=True)}
    except psutil.Error:
        pass
    found = {}
    for p in psutil.process_iter(["pid", "cmdline", "create_time", "cpu_times"]):
        info = p.info
        if info["pid"] in ours or info["cpu_times"] is None or info["create_time"] is None:
            continue
        title = " ".join(info["cmdline"] or [])
        if run_id in title or (title.startswith("postgres:") and any(a in title for a in _PG_AUXILIARY)):
            continue
        times = info["cpu_times"]
        found[(info["pid"], info["create_time"])] = times.user + times.system
    return found


class Disturbance:
    """CPU seconds other processes used between ``__init__`` and ``seconds()`` (those that ran to
    completion inside the interval are missed: a lower bound)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.started = time.time()
        self.before = _others(run_id)

    def seconds(self) -> float:
        total = 0.0
        for key, cpu in _others(self.run_id).items():
            if key in self.before:
                total += max(0.0, cpu - self.before[key])
            elif key[1] >= self.started - 1:
                total += cpu
        return total


def wait_quiet(limit: float = 45.0, busy_below: float = 15.0) -> str:
    """Wait until the machine is nearly idle (at most ``limit`` seconds); say how that went."""
    started = time.monotonic()
    while True:
        busy = psutil.cpu_percent(interval=1.0)
        if busy < busy_below:
            waited = time.monotonic() - started
            return "" if waited < 1.5 else f"waited {waited:.0f} s for the machine to go quiet"
        if time.monotonic() - started > limit:
            return f"machine still {busy:.0f}% busy after waiting {limit:.0f} s"
