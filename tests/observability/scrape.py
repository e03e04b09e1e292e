"""Reading /metrics of running services: parsed samples and the names a service exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from lanes_devstack.paths import REPO_ROOT

OBSERVABILITY_DIR = REPO_ROOT / "deploy" / "observability"
RULES_FILE = OBSERVABILITY_DIR / "rules" / "lanes-alerts.yml"
DASHBOARDS_DIR = OBSERVABILITY_DIR / "grafana" / "provisioning" / "dashboards" / "lanes"
DATASOURCES_FILE = OBSERVABILITY_DIR / "grafana" / "provisioning" / "datasources" / "lanes.yml"

# Series every Prometheus has without a service exporting them.
PROMETHEUS_SERIES = frozenset({"up"})
# A Lanes series name (or ``up``) in PromQL: not part of a recording rule's
# colon-separated name, not a function call.
_METRIC_NAME = re.compile(r"(?<![\w:])(lanes_[a-z0-9_]+|up)(?![\w:]|\s*\()")
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


@dataclass(frozen=True)
class Sample:
    """One scraped sample."""

    name: str
    labels: Mapping[str, str]
    value: float


@dataclass
class Scrape:
    """One service's /metrics, parsed."""

    samples: list[Sample]
    series_names: set[str]
    """Every series name the service can export, touched yet or not (from HELP/TYPE)."""

    def total(self, name: str, **labels: str) -> float:
        """The sum of ``name`` over the samples whose labels include ``labels``."""
        return sum(
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def values(self, name: str) -> list[Sample]:
        """Every sample of ``name``."""
        return [s for s in self.samples if s.name == name]


def parse(exposition: str) -> Scrape:
    """Parse a Prometheus text exposition."""
    samples: list[Sample] = []
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
        samples.extend(Sample(s.name, dict(s.labels), s.value) for s in family.samples)
    return Scrape(samples, names)


async def scrape(client: httpx.AsyncClient, base_url: str) -> Scrape:
    """GET ``base_url``/metrics and parse it."""
    response = await client.get(f"{base_url}/metrics")
    response.raise_for_status()
    return parse(response.text)


def merged(scrapes: Iterable[Scrape]) -> Scrape:
    """Several replicas' scrapes as one (sums add up across them)."""
    all_scrapes = list(scrapes)
    return Scrape(
        [s for one in all_scrapes for s in one.samples],
        set().union(*(one.series_names for one in all_scrapes)),
    )


def metric_names(expr: str) -> set[str]:
    """The Lanes metric names (and ``up``) a PromQL expression reads."""
    return set(_METRIC_NAME.findall(expr))


def dashboard_files() -> list[Path]:
    """The provisioned dashboards."""
    return sorted(DASHBOARDS_DIR.glob("*.json"))


def dashboard_exprs() -> dict[str, str]:
    """Every query of every provisioned dashboard, by ``dashboard/panel/refId``."""
    exprs: dict[str, str] = {}
    for path in dashboard_files():
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                exprs[f"{path.name}/{panel['title']}/{target['refId']}"] = target["expr"]
    return exprs


def rule_exprs() -> dict[str, str]:
    """Every rule's expression, by alert or recording name."""
    groups = yaml.safe_load(RULES_FILE.read_text())["groups"]
    return {
        rule.get("alert") or rule["record"]: rule["expr"]
        for group in groups
        for rule in group["rules"]
    }
