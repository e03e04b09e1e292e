"""Running the containers' healthchecks, which Podman 4.3 leaves to systemd timers.

Without systemd nothing runs them, every container stays "starting", and
compose's ``condition: service_healthy`` waits forever. `HealthcheckDriver`
runs ``podman healthcheck run`` for every running container that has a check,
on Docker's schedule with a short start interval (Docker 25's
``start_interval``): every ``start_interval`` seconds during the check's
``start_period`` (failures there do not count, Podman applies that itself),
then every ``interval`` of the check. So a container turns healthy within
seconds of being ready, and a failing one turns unhealthy no sooner than
Docker would mark it.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lanes_devstack.containers.podman import podman_env

NANOSECONDS = 1e9
DEFAULT_INTERVAL_SECONDS = 30.0  # Docker's default healthcheck interval


@dataclass
class _Schedule:
    interval: float
    start_period_ends: float
    next_run: float = 0.0


def _podman_json(args: list[str]) -> list[dict[str, Any]]:
    result = subprocess.run(
        ["podman", *args], env=podman_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or not result.stdout.strip():
        return []
    loaded: list[dict[str, Any]] = json.loads(result.stdout)
    return loaded


def health_status(inspected: dict[str, Any]) -> str:
    """ "starting", "healthy" or "unhealthy" from ``podman inspect`` ("" without a check)."""
    state = inspected.get("State") or {}
    health = state.get("Health") or state.get("Healthcheck") or {}
    return str(health.get("Status", ""))


class HealthcheckDriver:
    """Runs due healthchecks of running containers (those with ``label``, or all) in a thread."""

    def __init__(self, label: str | None = None, start_interval: float = 2.0) -> None:
        self.label = label
        self.start_interval = start_interval
        self._schedules: dict[str, _Schedule] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="healthchecks", daemon=True)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="healthcheck")

    def start(self) -> None:
        """Start running checks in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current round."""
        self._stopping.set()
        self._thread.join()
        self._pool.shutdown(wait=True)

    def run_forever(self) -> None:
        """Run checks in this thread until interrupted (the ``lanes-dev healthchecks`` command)."""
        self._loop()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.run_due_checks()
            self._stopping.wait(self.start_interval / 2)

    def _running_with_checks(self) -> list[dict[str, Any]]:
        ps = ["ps", "--format", "json"]
        if self.label:
            ps += ["--filter", f"label={self.label}"]
        ids = [str(c["Id"]) for c in _podman_json(ps)]
        if not ids:
            return []
        return [c for c in _podman_json(["inspect", *ids]) if health_status(c)]

    def run_due_checks(self) -> None:
        """One round: run, side by side, the checks that are due now."""
        now = time.monotonic()
        due = []
        for container in self._running_with_checks():
            cid = str(container["Id"])
            schedule = self._schedules.get(cid)
            if schedule is None:
                check = (container.get("Config") or {}).get("Healthcheck") or {}
                interval = float(check.get("Interval") or 0) / NANOSECONDS
                start_period = float(check.get("StartPeriod") or 0) / NANOSECONDS
                # Counted from when this driver first sees the container running.
                schedule = _Schedule(interval or DEFAULT_INTERVAL_SECONDS, now + start_period)
                self._schedules[cid] = schedule
            if now >= schedule.next_run:
                starting = health_status(container) == "starting"
                in_start_period = starting and now < schedule.start_period_ends
                wait = self.start_interval if in_start_period else schedule.interval
                schedule.next_run = now + wait
                due.append(cid)
        # Checks run in parallel: a slow one (a JVM starting) must not hold up the rest.
        list(self._pool.map(self._run_check, due))

    def _run_check(self, container_id: str) -> None:
        subprocess.run(
            ["podman", "healthcheck", "run", container_id],
            env=podman_env(),
            capture_output=True,
            check=False,
        )
