"""Peak memory and CPU of this process and every process under it, sampled from /proc.

newswatch's CPU stage runs in a process pool whose workers are forked by a forkserver: they are grandchildren
of the measured process, and their CPU time reaches ``os.times().children_*`` only once the forkserver is
reaped, which is after any measurement ends. So the benchmarks sample the whole tree instead: every 50 ms,
each descendant's RSS and its own CPU time (``utime + stime`` of ``/proc/PID/stat``). A process that ends is
counted with its last sample (at most 50 ms of its CPU is missed).
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


class TreeSampler:
    """Samples until :meth:`stop`; :meth:`descendants_cpu` may be read meanwhile (for one run of several)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.peak_single = 0.0
        self.peak_total = 0.0
        self._cpu: dict[int, float] = {}  # descendant pid → its CPU seconds at the last sample
        self._lock = threading.Lock()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _stats() -> dict[int, list[str]]:
        stats: dict[int, list[str]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    # Fields after the command name: state, ppid, …, utime (12th), stime (13th), …, rss (22nd).
                    stats[int(entry)] = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        return stats

    def sample(self) -> None:
        stats = self._stats()
        me = os.getpid()
        tree, frontier = [me], [me]
        while frontier:
            frontier = [p for p, s in stats.items() if int(s[1]) in frontier]
            tree += frontier
        page_mb = resource.getpagesize() / 2**20
        sizes = [int(stats[p][21]) * page_mb for p in tree if p in stats]
        with self._lock:
            for p in tree[1:]:
                if p in stats:
                    self._cpu[p] = (int(stats[p][11]) + int(stats[p][12])) / _TICK
            if sizes:
                self.peak_single = max(self.peak_single, max(sizes))
                self.peak_total = max(self.peak_total, sum(sizes))

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def descendants_cpu(self) -> float:
        """CPU seconds of every descendant seen so far (sampled now, so a live one counts up to now)."""
        self.sample()
        with self._lock:
            return sum(self._cpu.values())

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is in KiB on Linux
        return {
            "rss_self_mb": own,
            "rss_single_mb": max(own, self.peak_single),
            "rss_total_mb": self.peak_total,
            "descendants_cpu_s": sum(self._cpu.values()),
        }
