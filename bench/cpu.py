"""CPU time each server spent per request during a measured run, read from ``/proc``.

The ratios say how much slower Lanes is than its baselines; this says where
the difference goes. Around each measured run the user and system CPU time of
every server this process started is read (``/proc/<pid>/stat``), summed by
kind (`bench.rss.KINDS`) and divided by the requests the run served. On a
shared machine a server's CPU time per request is far steadier than its rate:
it is what bounds the rate once the cores are busy.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from pathlib import Path

from bench.rss import children, server_kind

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def cpu_snapshot() -> dict[int, tuple[str, float]]:
    """Every known server among this process's children: pid -> (kind, CPU seconds so far)."""
    snapshot = {}
    for pid in children(os.getpid()):
        kind, seconds = server_kind(pid), _cpu_seconds(pid)
        if kind is not None and seconds is not None:
            snapshot[pid] = (kind, seconds)
    return snapshot


def cpu_ms_per_request(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], requests: int
) -> dict[str, float]:
    """Kind -> CPU milliseconds per request between two snapshots (servers alive at both)."""
    spent: dict[str, float] = {}
    for pid, (kind, seconds) in after.items():
        if pid in before:
            spent[kind] = spent.get(kind, 0.0) + seconds - before[pid][1]
    return {kind: round(1000 * s / max(1, requests), 3) for kind, s in spent.items() if s > 0}


def median_by_kind(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """The median over runs of each kind's CPU per request (a kind missing from a run counts 0)."""
    kinds = sorted({kind for run in runs for kind in run})
    return {k: round(statistics.median(run.get(k, 0.0) for run in runs), 2) for k in kinds}
