"""The variables the deploy files set are exactly settings the services read, with valid values.

A typo (LANES_KAFKA_BOOTSTRAP_SERVER) would otherwise be ignored in silence and
the service would run on its default. Each service's settings class is the
source of truth: its fields, with the LANES_ prefix.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from lanes_common.settings import SECRETS_DIR, LanesSettings
from lanes_devstack.services import SERVICE_MODULES

from .compose_file import compose_env
from .kustomize import Manifest
from .manifests import container_env, containers, objects_of, one, secret_files
from .paths import K8S_OVERLAYS
from .settings_classes import lanes_variables, load_settings, settings_class, variable_names

KINDS = sorted(SERVICE_MODULES)
OVERLAYS = sorted(K8S_OVERLAYS)


def _deployment_env(manifests: list[Manifest], kind: str) -> tuple[dict[str, str], list[str]]:
    deployment = one(manifests, "Deployment", f"lanes-{kind}")
    container = containers(deployment)[0]
    files = secret_files(deployment, container, str(SECRETS_DIR))
    return container_env(manifests, container), files


def python_module(command: list[str]) -> str:
    """The module of a ``python -m <module>`` command."""
    assert command[:2] == ["python", "-m"], f"not a python -m command: {command}"
    return command[2]


@pytest.mark.integration
@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("kind", KINDS)
def test_manifest_variables_are_settings_fields(
    overlays: dict[str, list[Manifest]], overlay: str, kind: str
) -> None:
    """Every LANES_* variable and secret file of a Deployment names a field of its settings."""
    env, files = _deployment_env(overlays[overlay], kind)
    known = variable_names(settings_class(kind))
    unknown = (set(lanes_variables(env)) | set(files)) - known
    assert not unknown, f"lanes-{kind} sets {sorted(unknown)}, which {kind} does not read"


@pytest.mark.integration
@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("kind", KINDS)
def test_manifest_values_load(
    overlays: dict[str, list[Manifest]], overlay: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The values parse: the service would start with this configuration."""
    env, _ = _deployment_env(overlays[overlay], kind)
    load_settings(settings_class(kind), lanes_variables(env), monkeypatch)


@pytest.mark.integration
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_other_workloads_set_only_shared_settings(
    overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    """The topic Job reads the shared ConfigMap; its LANES_* names are shared settings."""
    manifests = overlays[overlay]
    for job in objects_of(manifests, "Job"):
        env = container_env(manifests, containers(job)[0])
        unknown = set(lanes_variables(env)) - variable_names(LanesSettings)
        assert not unknown, f"{job['metadata']['name']} sets {sorted(unknown)}"


@pytest.mark.parametrize("kind", KINDS)
def test_compose_variables_are_settings_fields(compose: dict[str, Any], kind: str) -> None:
    """The same rule for docker-compose.yml."""
    env = compose_env(compose, kind)
    unknown = set(lanes_variables(env)) - variable_names(settings_class(kind))
    assert not unknown, f"compose service {kind} sets {sorted(unknown)}, which it does not read"


@pytest.mark.parametrize("kind", KINDS)
def test_compose_values_load(
    compose: dict[str, Any], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compose values parse too."""
    load_settings(settings_class(kind), lanes_variables(compose_env(compose, kind)), monkeypatch)


def test_compose_one_shot_sets_only_shared_settings(compose: dict[str, Any]) -> None:
    """The kafka-topics service's LANES_* names are shared settings."""
    env = compose_env(compose, "kafka-topics")
    assert not set(lanes_variables(env)) - variable_names(LanesSettings)


@pytest.mark.integration
@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("kind", KINDS)
def test_manifest_command_is_the_service_module(
    overlays: dict[str, list[Manifest]], overlay: str, kind: str
) -> None:
    """Each Deployment runs ``python -m lanes_<kind>``, a module with a ``__main__``."""
    container = containers(one(overlays[overlay], "Deployment", f"lanes-{kind}"))[0]
    module = python_module(container["command"])
    assert module == SERVICE_MODULES[kind]
    assert importlib.util.find_spec(f"{module}.__main__"), f"{module} has no __main__"


@pytest.mark.parametrize("kind", KINDS)
def test_compose_command_is_the_service_module(compose: dict[str, Any], kind: str) -> None:
    """Each compose service runs its module too."""
    module = python_module(compose["services"][kind]["command"])
    assert module == SERVICE_MODULES[kind]
    assert importlib.util.find_spec(f"{module}.__main__"), f"{module} has no __main__"


@pytest.mark.parametrize("variable", ["LANES_KAFKA_BOOTSTRAP_SERVER", "LANES_PROCESSOR_GROUP"])
def test_a_misspelt_variable_is_caught(variable: str) -> None:
    """The check above has teeth: near-miss names are not settings."""
    assert variable not in variable_names(settings_class("processor"))
