"""wrk, the HTTP load generator: Debian's package, driven by a Lua script, its report parsed.

wrk (Debian's ``wrk`` package) keeps a fixed number of connections busy from
a couple of native threads, so the load generator costs little next to the
Python servers it measures. The Lua script posts one JSON body with a bearer
token per request (tokens taken in turn, one user per token) and prints its
figures as one JSON line at the end.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from lanes_devstack.debian import ensure_debian_command
from lanes_devstack.errors import DevstackError

REPORT_MARKER = "BENCH-JSON "

SCRIPT = r"""
local tokens = {%(tokens)s}
local body = %(body)s
local n = 0
request = function()
  n = n + 1
  local headers = {["Content-Type"] = "application/json"}
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(n %% #tokens) + 1]
  end
  return wrk.format("POST", %(path)s, headers, body)
end
done = function(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    '%(marker)s{"requests":%%d,"duration_us":%%d,"non_2xx":%%d,"socket_errors":%%d,' ..
    '"p50_us":%%d,"p95_us":%%d,"p99_us":%%d,"max_us":%%d}\n',
    summary.requests, summary.duration, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


class WrkNotFoundError(RuntimeError):
    """wrk is neither on PATH nor installable here."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput of 2xx answers and latency percentiles."""

    requests: int
    non_2xx: int
    socket_errors: int
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)
    """Each server's CPU time per request served during the run (`bench.cpu`)."""


def locate_wrk() -> str:
    """The wrk of Debian's package, installed with apt-get when missing (never one on PATH)."""
    try:
        return str(ensure_debian_command("wrk", "wrk"))
    except DevstackError as exc:
        raise WrkNotFoundError(str(exc)) from exc


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def write_script(path: Path, url_path: str, body: str, tokens: list[str]) -> Path:
    """The Lua script posting ``body`` to ``url_path`` with each token in turn."""
    path.write_text(
        SCRIPT
        % {
            "tokens": ", ".join(_lua_string(t) for t in tokens),
            "body": _lua_string(body),
            "path": _lua_string(url_path),
            "marker": REPORT_MARKER,
        }
    )
    return path


def run_wrk(
    wrk: str, url: str, script: Path, connections: int, seconds: float, threads: int = 2
) -> WrkResult:
    """Run wrk against ``url`` for ``seconds`` with ``connections`` open; parse its report."""
    result = subprocess.run(  # noqa: S603  (our own arguments)
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
    )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith(REPORT_MARKER)), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    report = json.loads(line[len(REPORT_MARKER) :])
    good = report["requests"] - report["non_2xx"]
    return WrkResult(
        requests=report["requests"],
        non_2xx=report["non_2xx"],
        socket_errors=report["socket_errors"],
        throughput_rps=round(good / (report["duration_us"] / 1e6), 1),
        p50_ms=round(report["p50_us"] / 1000, 2),
        p95_ms=round(report["p95_us"] / 1000, 2),
        p99_ms=round(report["p99_us"] / 1000, 2),
        max_ms=round(report["max_us"] / 1000, 2),
    )
