"""The image's virtualenv, built here with the Dockerfile's own uv commands.

There is no Docker engine to build the image, but its Python environment is
just ``uv sync`` over the copied sources: the same commands, run on the same
files, give the same packages. That proves the lock is complete for the
image, that nothing from the dev group or the devstack leaks in, and that the
command each container runs is a module the image can import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lanes_devstack.paths import REPO_ROOT
from lanes_devstack.services import SERVICE_MODULES
from lanes_devstack.tools import uv_binary

from .dockerfile import copy_sources, env_values, read_stages, run_command
from .paths import DOCKERFILE

# Where the Dockerfile puts things that do not exist on a test machine.
MACHINE_SPECIFIC = {"UV_PROJECT_ENVIRONMENT", "UV_PYTHON"}

# uv fetches the image's packages (from its cache or PyPI).
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv made exactly as the Dockerfile's build stage makes /opt/lanes/venv."""
    _, stages = read_stages(DOCKERFILE)
    build = next(
        s for s in stages if any(run_command(r)[:2] == ["uv", "sync"] for r in s.all("RUN"))
    )
    context = tmp_path_factory.mktemp("image-context")
    for source in copy_sources(build):
        target = context / source
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO_ROOT / source).is_dir():
            shutil.copytree(
                REPO_ROOT / source,
                target,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        else:
            shutil.copy2(REPO_ROOT / source, target)
    venv = context / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env.update({k: v for k, v in env_values(build).items() if k not in MACHINE_SPECIFIC})
    env.update({"UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON": sys.executable})
    uv = uv_binary()
    for run in build.all("RUN"):
        command = run_command(run)
        if command[:2] != ["uv", "sync"]:
            continue
        result = subprocess.run(
            [str(uv), *command[1:]],
            cwd=context,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stderr}"
    return venv


def image_python(venv: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run Python code in the image's virtualenv, with no access to the repository."""
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=venv,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"},
    )


@pytest.mark.parametrize("module", sorted(SERVICE_MODULES.values()))
def test_each_service_command_runs_in_the_image(image_venv: Path, module: str) -> None:
    """``python -m <module>`` resolves, and its app imports with only the image's packages."""
    result = image_python(
        image_venv,
        (
            "import importlib, importlib.util\n"
            f"assert importlib.util.find_spec('{module}.__main__'), 'no {module}.__main__'\n"
            f"main = importlib.import_module('{module}.main')\n"
            "assert callable(main.run), 'main.run is not callable'\n"
        ),
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", ["lanes_devstack", "pytest", "testcontainers", "mypy"])
def test_development_packages_stay_out_of_the_image(image_venv: Path, module: str) -> None:
    """The devstack and the dev group are not installed in the image."""
    result = image_python(
        image_venv,
        f"import importlib.util, sys; sys.exit(bool(importlib.util.find_spec('{module}')))",
    )
    assert result.returncode == 0, f"{module} is installed in the image"
