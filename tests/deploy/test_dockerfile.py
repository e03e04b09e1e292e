"""The Dockerfile keeps its promises: multi-stage, locked, non-root, nothing secret inside.

Docker cannot build here (no engine), so these read the file; test_image_env.py
builds the image's virtualenv with the Dockerfile's own commands.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from lanes_devstack.paths import REPO_ROOT
from lanes_devstack.services import SERVICE_MODULES

from .dockerfile import (
    Stage,
    copy_sources,
    env_values,
    exec_form,
    in_build_context,
    read_dockerignore,
    read_stages,
    run_command,
)
from .paths import DOCKERFILE, DOCKERIGNORE

SECRET_WORDS = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_?KEY", re.I)


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    """The Dockerfile's stages, in order."""
    return read_stages(DOCKERFILE)[1]


def final(stages: list[Stage]) -> Stage:
    """The stage the image is made of."""
    return stages[-1]


def uv_syncs(stage: Stage) -> list[list[str]]:
    """The ``uv sync`` commands a stage runs."""
    commands = [run_command(i) for i in stage.all("RUN")]
    return [c for c in commands if c[:2] == ["uv", "sync"]]


def test_is_multi_stage_and_the_runtime_copies_only_from_the_build(stages: list[Stage]) -> None:
    """The final stage starts from a clean base and takes the virtualenv from a build stage."""
    assert len(stages) >= 2
    runtime = final(stages)
    builders = {s.name for s in stages[:-1]}
    copies_from = [
        w.split("=", 1)[1]
        for i in runtime.all("COPY")
        for w in i.words()
        if w.startswith("--from=")
    ]
    assert copies_from, "the runtime stage copies nothing from the build stage"
    assert set(copies_from) <= builders
    assert runtime.base not in builders, "the runtime stage must not extend the build stage"


def test_dependencies_come_from_the_lock(stages: list[Stage]) -> None:
    """Every ``uv sync`` is --frozen (exactly uv.lock) and leaves out the dev group."""
    syncs = [sync for stage in stages for sync in uv_syncs(stage)]
    assert syncs, "the Dockerfile never runs uv sync"
    for sync in syncs:
        assert "--frozen" in sync, f"not locked: {' '.join(sync)}"
        assert "--no-dev" in sync, f"installs the dev group: {' '.join(sync)}"


def test_the_image_runs_as_a_numeric_non_root_user(stages: list[Stage]) -> None:
    """The last USER is a numeric uid other than 0 (Kubernetes' runAsNonRoot can verify it)."""
    users = final(stages).all("USER")
    assert users, "the runtime stage has no USER: it would run as root"
    uid = users[-1].arguments.split(":")[0]
    assert uid.isdigit(), f"USER {uid}: use a numeric uid"
    assert int(uid) != 0


def test_no_build_tools_in_the_runtime_stage(stages: list[Stage]) -> None:
    """uv, compilers and package installs stay in the build stage."""
    runtime = final(stages)
    assert not uv_syncs(runtime)
    runs = " ".join(i.arguments for i in runtime.all("RUN"))
    for tool in ("apt-get install", "apk add", "pip install", "gcc", "build-essential"):
        assert tool not in runs, f"runtime stage runs {tool}"
    copied = " ".join(i.arguments for i in runtime.all("COPY"))
    assert "/uv" not in copied, "the runtime stage copies uv"


def test_no_secrets_in_the_image(stages: list[Stage]) -> None:
    """No ARG/ENV named like a secret, no key or .env file copied in."""
    for stage in stages:
        names = list(env_values(stage)) + [i.arguments.split("=")[0] for i in stage.all("ARG")]
        assert not [n for n in names if SECRET_WORDS.search(n)], f"secret-like names: {names}"
        for source in copy_sources(stage):
            assert not re.search(r"\.pem$|\.key$|(^|/)\.env|\.lanes|secrets", source), source


def test_base_images_are_pinned() -> None:
    """Every base image names a version, never latest."""
    _, stages = read_stages(DOCKERFILE)
    for stage in stages:
        if stage.base in {s.name for s in stages}:
            continue
        assert ":" in stage.base and not stage.base.endswith(":latest"), stage.base


def test_default_command_starts_a_service(stages: list[Stage]) -> None:
    """CMD is exec form (signals reach Python) and runs one of the service modules."""
    command = exec_form(final(stages).all("CMD")[-1])
    assert command[:2] == ["python", "-m"]
    assert command[2] in SERVICE_MODULES.values()


def test_the_build_context_holds_what_the_dockerfile_copies(stages: list[Stage]) -> None:
    """Every file under a COPY source that the build needs passes .dockerignore."""
    rules = read_dockerignore(DOCKERIGNORE)
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for source in [s for stage in stages for s in copy_sources(stage)]:
        needed = [
            f
            for f in tracked
            if (f == source or f.startswith(source.rstrip("/") + "/"))
            and (f.endswith((".py", "pyproject.toml", "uv.lock")))
        ]
        assert needed, f"COPY {source}: no such file in the repository"
        left_out = [f for f in needed if not in_build_context(f, rules)]
        assert not left_out, f".dockerignore drops files the build copies: {left_out[:5]}"


def test_the_build_context_leaves_out_local_state_and_secrets() -> None:
    """The venv, provisioned servers, keys, git and .env files never reach the builder."""
    rules = read_dockerignore(DOCKERIGNORE)
    for path in (
        ".venv/bin/python",
        ".lanes/keys/signing.pem",
        ".git/config",
        ".env",
        "services/auth/src/lanes_auth/dev.pem",
        "tests/conftest.py",
        "services/auth/src/lanes_auth/__pycache__/main.cpython-311.pyc",
    ):
        assert not in_build_context(path, rules), f"{path} would be sent to the builder"
