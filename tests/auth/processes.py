"""Auth as a real process for the tests: started with its own database and keys, stopped cleanly."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

from lanes_devstack.infra import LocalInfra
from lanes_devstack.process import free_port
from lanes_devstack.services import RunningService, start_service

ISSUER = "lanes-auth-test"
AUDIENCE = "lanes-test"
PASSWORD = "correct horse battery"


class AuthProcesses:
    """Starts auth processes for one test or module, and stops whatever is left at the end."""

    def __init__(self, infra: LocalInfra) -> None:
        self._infra = infra
        self._running: list[RunningService] = []

    def start(
        self,
        work_dir: Path,
        *,
        generate_keys: bool = True,
        database: str | None = None,
        overrides: dict[str, str] | None = None,
    ) -> RunningService:
        """Start auth; its keys are in ``work_dir/keys``, its log in ``work_dir/auth.log``."""
        port = free_port()
        env = {
            "LANES_MONGO_URI": self._infra.mongo_uri,
            "LANES_MONGO_DATABASE": database or f"t{uuid.uuid4().hex[:12]}",
            "LANES_AUTH_HOST": "127.0.0.1",
            "LANES_AUTH_PORT": str(port),
            "LANES_AUTH_KEYS_DIR": str(work_dir / "keys"),
            "LANES_AUTH_GENERATE_KEYS": str(generate_keys).lower(),
            "LANES_JWT_ISSUER": ISSUER,
            "LANES_JWT_AUDIENCE": AUDIENCE,
            "LANES_LOG_LEVEL": "DEBUG",
            **(overrides or {}),
        }
        service = start_service("auth", port, env, work_dir, timeout=30.0)
        self._running.append(service)
        return service

    def stop(self, service: RunningService) -> None:
        """SIGTERM the service and check that it shut down gracefully."""
        self._running.remove(service)
        # uvicorn re-raises the SIGTERM it handled once shutdown is complete.
        assert service.stop() in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in service.process.log_path.read_text()

    def stop_all(self) -> None:
        """Stop the processes a failed test left running."""
        while self._running:
            self._running.pop().stop()
