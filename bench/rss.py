"""Peak resident memory of every server the benchmark started, read from ``/proc``.

Each child's ``VmHWM`` (the kernel's own high-water mark of its resident set)
is read every half second, so a process's peak is known even after it exits;
the sampler files each peak under the phase that is running and the kind of
server (gateway, processor, Kafka, ...), named from its command line.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from pathlib import Path

SAMPLE_SECONDS = 0.5

# Command-line fragments that name a server; the first match wins.
KINDS = (
    ("lanes_gateway", "gateway"),
    ("lanes_auth", "auth"),
    ("lanes_processor", "processor"),
    ("bench.floor", "raw floor"),
    ("bench.bare_app", "bare FastAPI"),
    ("kafka.Kafka", "kafka"),
    ("dev.lanes.mongoserver", "mongo-wire server"),
)


def children(parent: int) -> list[int]:
    """The pids whose parent is ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in field 2 may hold spaces; the ppid follows its ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(entry.name))
    return found


def server_kind(pid: int) -> str | None:
    """The kind of server ``pid`` runs (gateway, kafka, ...) by its command line, or None."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    return next((kind for fragment, kind in KINDS if fragment in cmdline), None)


def _peak_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class PeakRss:
    """Samples the peak RSS of this process's children, per phase and server kind."""

    def __init__(self) -> None:
        self.phase = "setup"
        # phase -> kind -> pid -> peak MiB
        self._peaks: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_forever, name="rss", daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        """Read every child's high-water mark now (also call it just before stopping one)."""
        phase = self.phase
        for pid in children(os.getpid()):
            kind, peak = server_kind(pid), _peak_mib(pid)
            if kind is None or peak is None:
                continue
            known = self._peaks[phase][kind]
            known[pid] = max(peak, known.get(pid, 0.0))

    def _sample_forever(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()

    def peaks(self) -> dict[str, dict[str, float]]:
        """Phase -> server kind -> the largest peak of any one process of that kind (MiB)."""
        return {
            phase: {kind: round(max(pids.values()), 1) for kind, pids in kinds.items()}
            for phase, kinds in self._peaks.items()
        }
