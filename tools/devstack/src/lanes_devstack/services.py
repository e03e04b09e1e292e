"""The Lanes services as real processes, ready when `/readyz` answers 200."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from lanes_devstack.process import ManagedProcess, require_free_port

SERVICE_MODULES = {
    "auth": "lanes_auth",
    "gateway": "lanes_gateway",
    "processor": "lanes_processor",
}


@dataclass
class RunningService:
    """A started service: its process and the base URL of its HTTP port."""

    name: str
    url: str
    process: ManagedProcess

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait (the processor drains and commits on SIGTERM)."""
        return self.process.stop(timeout)


def _answers_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def start_service(
    kind: str,
    port: int,
    env: dict[str, str],
    log_dir: Path,
    name: str | None = None,
    timeout: float = 60.0,
) -> RunningService:
    """Start ``python -m lanes_<kind>`` with ``env`` (``LANES_*`` settings) and wait until ready.

    ``port`` is the service's HTTP port (the processor serves its probes and
    metrics there); the caller puts it in ``env`` under the service's setting.
    """
    name = name or kind
    require_free_port(port, name, f"the {kind} port setting")
    process = ManagedProcess(
        name,
        [sys.executable, "-m", SERVICE_MODULES[kind]],
        log_dir / f"{name}.log",
        env={**os.environ, **env},
    )
    process.start()
    url = f"http://127.0.0.1:{port}"
    process.wait_until(lambda: _answers_ready(url), timeout, "answering /readyz")
    return RunningService(name, url, process)
