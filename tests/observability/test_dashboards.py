"""The Grafana provisioning is consistent: dashboards load, and every panel queries real metrics.

The metric names are checked here against what the services' code registers
(every metric module imported); `test_metrics_end_to_end` checks them again
against a live scrape of running services.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from lanes_devstack.paths import REPO_ROOT

from .scrape import (
    DASHBOARDS_DIR,
    DATASOURCES_FILE,
    OBSERVABILITY_DIR,
    PROMETHEUS_SERIES,
    dashboard_exprs,
    dashboard_files,
    metric_names,
    rule_exprs,
)

PROVIDERS_FILE = OBSERVABILITY_DIR / "grafana" / "provisioning" / "dashboards" / "lanes.yml"
METRIC_MODULES = (
    "lanes_common.telemetry.metrics",
    "lanes_gateway.metrics",
    "lanes_auth.metrics",
    "lanes_processor.metrics",
)
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def registered_series() -> set[str]:
    """Every series name the services' metric modules register."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in _SUFFIXES.get(family.type, ("",))
    }


def datasource_uids() -> set[str]:
    config = yaml.safe_load(DATASOURCES_FILE.read_text())
    return {source["uid"] for source in config["datasources"] if source["type"] == "prometheus"}


def load(path: Path) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(path.read_text())
    return dashboard


def test_the_provider_reads_the_folder_compose_mounts() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    mounts = dict(
        volume.split(":")[:2]
        for volume in compose["services"]["grafana"]["volumes"]
        if volume.startswith("./")
    )
    provisioning = mounts["./deploy/observability/grafana/provisioning"]
    (provider,) = yaml.safe_load(PROVIDERS_FILE.read_text())["providers"]
    relative = DASHBOARDS_DIR.relative_to(OBSERVABILITY_DIR / "grafana" / "provisioning")
    assert provider["options"]["path"] == f"{provisioning}/{relative.as_posix()}"
    assert dashboard_files(), "no dashboard to provision"


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_dashboard_structure(path: Path) -> None:
    dashboard = load(path)
    assert dashboard["uid"] and dashboard["title"]
    panels = dashboard["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    uids = datasource_uids()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        where = f"{path.name}: {panel['title']}"
        assert panel["datasource"]["type"] == "prometheus", where
        assert panel["datasource"]["uid"] in uids, where
        assert panel["targets"], where
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), where
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in uids, where
            assert target["expr"].strip(), where
            assert metric_names(target["expr"]), f"{where}: the query reads no Lanes metric"


def test_dashboards_cover_what_operators_ask_for() -> None:
    exprs = " ".join(dashboard_exprs().values())
    for metric in (
        "lanes_gateway_enqueued_total",  # enqueue rate
        "lanes_processor_finished_total",  # completion rate, dead letters
        "lanes_processor_consumer_lag",  # queue depth, lag per partition
        "lanes_processor_end_to_end_seconds_bucket",  # latency percentiles
        "lanes_processor_retries_total",  # retries
        "lanes_http_requests_total",  # per-service error rates
    ):
        assert metric in exprs, metric


def test_queries_read_only_registered_metrics() -> None:
    known = registered_series() | PROMETHEUS_SERIES
    queries = {**dashboard_exprs(), **rule_exprs()}
    unknown = {
        where: sorted(metric_names(expr) - known)
        for where, expr in queries.items()
        if metric_names(expr) - known
    }
    assert unknown == {}
