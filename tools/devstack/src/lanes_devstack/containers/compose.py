"""docker-compose.yml on Podman: Docker's API on a socket of our own, and compose on it.

`PodmanService` runs ``podman system service`` on a socket under the project's
``.lanes`` folder (never the system's ``/run/podman``), with this project's
containers.conf. `ComposeProject` runs Debian's ``docker-compose`` (1.29)
against that socket with ``docker-compose.yml`` and the override for machines
without a registry (``infra/containers/compose.local.yml``).
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from lanes_devstack.containers.podman import CONTAINERS_DIR, podman_env
from lanes_devstack.errors import DevstackError
from lanes_devstack.paths import REPO_ROOT, lanes_home
from lanes_devstack.process import ManagedProcess

COMPOSE_FILES = (REPO_ROOT / "docker-compose.yml", CONTAINERS_DIR / "compose.local.yml")
# Grafana and Jaeger have no image that can be built here (docs/deploy.md).
LOCAL_SERVICES = ("kafka", "kafka-topics", "mongo", "auth", "gateway", "processor", "prometheus")


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=2)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(2)
        try:
            sock.connect(str(self.socket_path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


def api_answers(socket_path: Path) -> bool:
    """True when a Docker-compatible API answers ``GET /_ping`` on the socket."""
    connection = _UnixHTTPConnection(socket_path)
    try:
        connection.request("GET", "/_ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


class PodmanService:
    """``podman system service`` on ``.lanes/podman/podman-<pid>.sock``, until stopped."""

    def __init__(self, log_dir: Path) -> None:
        self.socket_path = lanes_home() / "podman" / f"podman-{os.getpid()}.sock"
        self.process = ManagedProcess(
            "podman system service",
            ["podman", "system", "service", "--time=0", f"unix://{self.socket_path}"],
            log_dir / "podman-service.log",
            env=podman_env(),
        )

    @property
    def docker_host(self) -> str:
        """The ``DOCKER_HOST`` value that points a Docker client at this service."""
        return f"unix://{self.socket_path}"

    def start(self, timeout: float = 60.0) -> None:
        """Start the service and wait until its API answers."""
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        self.process.start()
        self.process.wait_until(lambda: api_answers(self.socket_path), timeout, "answering /_ping")

    def stop(self) -> None:
        """Stop the service and remove its socket."""
        self.process.stop()
        self.socket_path.unlink(missing_ok=True)


class ComposeProject:
    """One compose project (``-p``) of docker-compose.yml plus the local override."""

    def __init__(self, name: str, docker_host: str, env: Mapping[str, str]) -> None:
        self.name = name
        self.env = {**podman_env(), **env, "DOCKER_HOST": docker_host}

    def run(self, args: Sequence[str], timeout: float = 900.0) -> str:
        """``docker-compose -p NAME -f ... ARGS``; its output, or a `DevstackError` with it."""
        files = [arg for path in COMPOSE_FILES for arg in ("-f", str(path))]
        command = ["docker-compose", "-p", self.name, *files, *args]
        try:
            result = subprocess.run(
                command,
                cwd=REPO_ROOT,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DevstackError(f"docker-compose {args[0]} ran over {timeout:.0f}s") from exc
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
            raise DevstackError(
                f"docker-compose {args[0]} failed (exit {result.returncode}):\n{tail}"
            )
        return result.stdout + result.stderr

    @property
    def label(self) -> str:
        """The label compose puts on everything of this project."""
        return f"com.docker.compose.project={self.name}"

    def container_ids(self, service: str | None = None, all_states: bool = False) -> list[str]:
        """Ids of this project's (running, or all) containers, of one ``service`` or all."""
        args = ["podman", "ps", "-q", "--no-trunc", "--filter", f"label={self.label}"]
        if service:
            args += ["--filter", f"label=com.docker.compose.service={service}"]
        if all_states:
            args.append("-a")
        result = subprocess.run(args, env=self.env, capture_output=True, text=True, check=True)
        return result.stdout.split()

    def leftovers(self) -> list[str]:
        """This project's containers, networks and volumes still present (none after down -v)."""
        found = []
        for kind in ("container", "network", "volume"):
            listing = ["podman", kind, "ls", "-q", "--filter", f"label={self.label}"]
            if kind == "container":
                listing.append("-a")
            result = subprocess.run(
                listing, env=self.env, capture_output=True, text=True, check=True
            )
            found += [f"{kind} {item}" for item in result.stdout.split()]
        return found
