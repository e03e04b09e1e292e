"""A child process with a log file, a real readiness check and a clean stop."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lanes_devstack.errors import DevstackError

READINESS_POLL_SECONDS = 0.1


LOWEST_SERVER_PORT = 10_000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_ports = random.Random()  # noqa: S311  (spreading ports, not a secret)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now, below the ephemeral range.

    The kernel's own pick (binding port 0) comes from the ephemeral range, the
    same range every outgoing connection takes its local port from: with
    hundreds of Kafka, MongoDB and HTTP connections opening, one could take
    the port between this check and the server binding it. Below that range
    only servers bind, so a random port there stays free.
    """
    first_ephemeral = int(EPHEMERAL_RANGE.read_text().split()[0])
    if first_ephemeral <= LOWEST_SERVER_PORT:
        return _kernel_pick()  # no room below the ephemeral range on this machine
    for _ in range(100):
        port = _ports.randrange(LOWEST_SERVER_PORT, first_ephemeral)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise DevstackError(f"no free port between {LOWEST_SERVER_PORT} and {first_ephemeral}")


def _kernel_pick() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_free_port(port: int, what: str, setting: str) -> None:
    """Raise a `DevstackError` naming the setting to change when ``port`` is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As a server binds: connections of a stopped server lingering in
        # TIME_WAIT/FIN_WAIT on this port must not count as "taken".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise DevstackError(
                f"Port {port} for {what} is taken ({exc.strerror}). Stop whatever listens there "
                f"(ss -ltnp 'sport = :{port}') or choose another port with {setting}=<port>."
            ) from exc


class ManagedProcess:
    """One server process: started with its output in a log file, stopped on request."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id while running."""
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        """Start the process; its stdout and stderr go to the log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )

    def is_running(self) -> bool:
        """True while the process has not exited."""
        return self._popen is not None and self._popen.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the process wrote."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``ready`` until it is true; fail at once if the process dies, or at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.is_running():
                raise DevstackError(
                    f"{self.name} exited before {what} (see {self.log_path}):\n{self.log_tail()}"
                )
            if ready():
                return
            if time.monotonic() > deadline:
                raise DevstackError(
                    f"{self.name} did not reach '{what}' within {timeout:.0f}s "
                    f"(see {self.log_path}):\n{self.log_tail()}"
                )
            time.sleep(READINESS_POLL_SECONDS)

    def signal(self, signum: int) -> None:
        """Send a signal to the process."""
        if self._popen is not None and self._popen.poll() is None:
            self._popen.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (for crash tests)."""
        self.signal(signal.SIGKILL)
        if self._popen is not None:
            self._popen.wait()

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, wait up to ``timeout``, then SIGKILL; returns the exit code."""
        if self._popen is None:
            return None
        if self._popen.poll() is None:
            self._popen.send_signal(signal.SIGTERM)
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait()
        return self._popen.returncode
