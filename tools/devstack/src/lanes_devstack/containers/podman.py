"""Podman as this project runs it: its own containers.conf, prerequisites checked once.

Every podman call the devstack makes goes through `podman_command`, with
``CONTAINERS_CONF`` pointing at ``infra/containers/containers.conf`` (the
settings this kind of machine needs); the system's own file is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from lanes_devstack.errors import DevstackError
from lanes_devstack.paths import REPO_ROOT

CONTAINERS_DIR = REPO_ROOT / "infra" / "containers"
CONTAINERS_CONF = CONTAINERS_DIR / "containers.conf"

# The commands the container proofs need, and the Debian package of each.
PREREQUISITES = {
    "podman": "podman",
    "runc": "runc",
    "docker-compose": "docker-compose",
    "debootstrap": "debootstrap",
}
INSTALL_HINT = (
    "apt-get install podman runc debootstrap && "
    "apt-get install --no-install-recommends docker-compose"
)


def missing_prerequisites() -> list[str]:
    """The Debian packages of the container tools not found on PATH."""
    return [package for tool, package in PREREQUISITES.items() if shutil.which(tool) is None]


def require_prerequisites() -> None:
    """Raise one `DevstackError` naming every missing container tool and how to install it."""
    missing = missing_prerequisites()
    if missing:
        raise DevstackError(
            f"The container images and the stack test need {', '.join(PREREQUISITES)}; "
            f"missing: {', '.join(missing)}. Install them (Debian, as root: {INSTALL_HINT}), "
            "or set LANES_TEST_CONTAINERS=0 to leave the containers out of this run."
        )


def podman_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every podman call: this project's containers.conf, plus ``extra``."""
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF), **(extra or {})}


def run_podman(
    args: Sequence[str],
    what: str,
    timeout: float = 1800.0,
    stdin: int | None = None,
    show_output: bool = False,
) -> str:
    """Run ``podman ARGS``; return its stdout, or raise a `DevstackError` with its last lines.

    With ``show_output`` the output goes to the terminal instead (a long build
    shows its progress), and the error names only the exit code.
    """
    try:
        result = subprocess.run(
            ["podman", *args],
            env=podman_env(),
            stdin=stdin,
            capture_output=not show_output,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DevstackError(f"{what}: podman {' '.join(args)} ran over {timeout:.0f}s") from exc
    if result.returncode != 0:
        output = (result.stdout or "") + (result.stderr or "")
        tail = "\n".join(output.strip().splitlines()[-20:])
        raise DevstackError(f"{what} failed (exit {result.returncode}): podman {args[0]}\n{tail}")
    return result.stdout or ""


def inspect_image(image: str) -> dict[str, Any] | None:
    """``podman image inspect`` of one image, or None when it is not in local storage."""
    result = subprocess.run(
        ["podman", "image", "inspect", image],
        env=podman_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return None
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found[0] if found else None


def image_label(image: str, label: str) -> str | None:
    """The value of one label of a local image (None when the image or label is absent)."""
    inspected = inspect_image(image)
    if inspected is None:
        return None
    labels: dict[str, str] = inspected.get("Labels") or {}
    return labels.get(label)


def image_id(image: str) -> str | None:
    """The id of a local image, or None when it is not in local storage."""
    inspected = inspect_image(image)
    return None if inspected is None else str(inspected["Id"])


def image_size_bytes(image: str) -> int:
    """The size of a local image (all its layers), as ``podman images`` reports it."""
    inspected = inspect_image(image)
    if inspected is None:
        raise DevstackError(f"image {image} is not in local storage")
    return int(inspected["Size"])


def remove_image(image: str) -> None:
    """Remove an image if nothing uses it (a container or a newer tag); quietly keep it if so."""
    subprocess.run(["podman", "rmi", image], env=podman_env(), capture_output=True, check=False)
