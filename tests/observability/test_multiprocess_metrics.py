"""With PROMETHEUS_MULTIPROC_DIR, /metrics sums every worker process, whichever one answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

WORKER = """
import sys
from lanes_common.telemetry.metrics import HTTP_REQUESTS, HTTP_REQUEST_SECONDS
for _ in range(int(sys.argv[1])):
    HTTP_REQUESTS.labels("GET", "/v1/queue", "200").inc()
    HTTP_REQUEST_SECONDS.labels("GET", "/v1/queue", "200").observe(0.01)
"""

SCRAPE = """
import sys
from lanes_common.telemetry.metrics import render_metrics
body, content_type = render_metrics()
sys.stdout.write(body.decode())
"""


def run_python(code: str, multiproc_dir: Path, *args: str) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir)}
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_samples_of_all_workers_are_summed(tmp_path: Path) -> None:
    # Two "workers" serve traffic; a third process answers the scrape.
    run_python(WORKER, tmp_path, "3")
    run_python(WORKER, tmp_path, "4")
    exposition = run_python(SCRAPE, tmp_path)

    samples = {
        (sample.name, sample.labels.get("route")): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }
    assert samples[("lanes_http_requests_total", "/v1/queue")] == 7
    assert samples[("lanes_http_request_duration_seconds_count", "/v1/queue")] == 7
