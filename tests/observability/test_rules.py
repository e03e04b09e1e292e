"""The alert rules and the Prometheus config pass promtool; the alerts fire as designed.

promtool is built from the Go module proxy by ``make provision``
(`lanes_devstack.gotools`), so the tests that run it are integration tests.
Every dashboard query is parsed by promtool too, as a recording rule, so a
query Grafana would reject fails here first.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from lanes_devstack.gotools import GO_BUILD_TIMEOUT_SECONDS
from lanes_devstack.paths import REPO_ROOT

from .scrape import OBSERVABILITY_DIR, RULES_FILE, dashboard_exprs

# Without `make provision`, the first test here builds promtool (minutes on a fresh machine).
pytestmark = pytest.mark.timeout(GO_BUILD_TIMEOUT_SECONDS + 120)

PROMETHEUS_CONFIG = OBSERVABILITY_DIR / "prometheus.yml"
RULE_TESTS = RULES_FILE.with_name("lanes-alerts.test.yml")
OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"
# Grafana's interval variables, as Prometheus would see them once Grafana filled them in.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def run_promtool(promtool: str, *args: str) -> str:
    result = subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES_FILE.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


@pytest.mark.integration
def test_rules_pass_promtool_check_rules(promtool: str) -> None:
    output = run_promtool(promtool, "check", "rules", str(RULES_FILE))
    assert "SUCCESS" in output


@pytest.mark.integration
def test_prometheus_config_and_its_rule_files_pass_promtool(promtool: str) -> None:
    output = run_promtool(promtool, "check", "config", str(PROMETHEUS_CONFIG))
    assert "1 rule files found" in output


@pytest.mark.integration
def test_alerts_fire_as_their_unit_tests_say(promtool: str) -> None:
    run_promtool(promtool, "test", "rules", str(RULE_TESTS))


def test_every_alert_is_unit_tested_firing() -> None:
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    fired = {
        check["alertname"]
        for case in cases
        for check in case.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    assert {str(rule["alert"]) for rule in alerts()} - fired == set()


def test_every_alert_has_a_severity_and_a_runbook_section() -> None:
    headings = {
        line.lstrip("#").strip().lower()
        for line in OPERATIONS_DOC.read_text().splitlines()
        if line.startswith("#")
    }
    for rule in alerts():
        name = str(rule["alert"])
        labels = rule["labels"]
        annotations = rule["annotations"]
        assert isinstance(labels, dict) and isinstance(annotations, dict)
        assert labels["severity"] in {"critical", "warning", "info"}, name
        assert annotations["summary"], name
        assert annotations["runbook"] == f"docs/operations.md#{name.lower()}", name
        assert name.lower() in headings, f"docs/operations.md has no section for {name}"


@pytest.mark.integration
def test_dashboard_queries_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    rules = []
    for n, expr in enumerate(dashboard_exprs().values()):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in re.sub(r"\{\{.*?\}\}", "", expr), f"unknown Grafana variable in {expr}"
        rules.append({"record": f"dashboard:query_{n}", "expr": expr})
    assert rules
    rule_file = tmp_path / "dashboard-queries.yml"
    rule_file.write_text(json.dumps({"groups": [{"name": "dashboards", "rules": rules}]}))
    output = run_promtool(promtool, "check", "rules", str(rule_file))
    assert f"SUCCESS: {len(rules)} rules found" in output
