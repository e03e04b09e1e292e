"""The settings each service reads: its pydantic-settings class and the variables it knows."""

from __future__ import annotations

import importlib
import os

import pytest

from lanes_common.settings import LanesSettings
from lanes_devstack.services import SERVICE_MODULES


def settings_class(kind: str) -> type[LanesSettings]:
    """The one `LanesSettings` subclass in ``lanes_<kind>.config``.

    A service that is not written yet fails the test with the reason: the
    deploy files already set its settings, so its absence is a real gap.
    """
    module_name = f"{SERVICE_MODULES[kind]}.config"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        pytest.fail(f"{module_name} cannot be imported ({exc}); the deploy files set its settings")
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, LanesSettings)
        and value.__module__ == module_name
    ]
    if len(classes) != 1:
        pytest.fail(
            f"{module_name} should define exactly one LanesSettings subclass, has {classes}"
        )
    return classes[0]


def variable_names(settings: type[LanesSettings]) -> set[str]:
    """The environment variables (and secret file names) a settings class reads."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    return {f"{prefix}{name}".upper() for name in settings.model_fields}


def lanes_variables(env: dict[str, str]) -> dict[str, str]:
    """Only the ``LANES_*`` variables of an environment."""
    return {k: v for k, v in env.items() if k.startswith("LANES_")}


def load_settings(
    settings: type[LanesSettings], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> LanesSettings:
    """Build the settings from exactly ``env``, as the service would at start-up."""
    for name in list(os.environ):
        if name.startswith("LANES_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return settings()
