"""The images the local compose run needs, built on this machine without a registry.

- ``lanes:local``: the project's own Dockerfile, unchanged, given the local
  base and uv images through its ``PYTHON_IMAGE`` and ``UV_IMAGE`` arguments.
- Server images in place of the official ones, each from a recipe under
  ``infra/containers/<name>/`` on ``lanes-base``: Kafka from the devstack's
  Maven jars, the MongoDB-wire server from the devstack's jars and launcher,
  Prometheus from Debian's package.

A server image is built once and rebuilt only when its recipe, its staged
files or the base image change (a digest in a label says what it was built
from). The Lanes image is always handed to ``podman build``, whose layer cache
makes an unchanged tree a quick no-op.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lanes_devstack.containers.base_images import (
    INPUTS_LABEL,
    ensure_base_image,
    ensure_uv_image,
)
from lanes_devstack.containers.podman import (
    CONTAINERS_DIR,
    image_size_bytes,
    inspect_image,
    remove_image,
    run_podman,
)
from lanes_devstack.paths import REPO_ROOT, cache_dir
from lanes_devstack.provision import ensure_kafka, ensure_kafka_tools, ensure_mongo_server

LANES_IMAGE = "localhost/lanes:local"
KAFKA_IMAGE = "localhost/lanes-kafka:4.1.1"
PROMETHEUS_IMAGE = "localhost/lanes-prometheus:debian"
MONGO_IMAGE = "localhost/lanes-mongo:local"


@dataclass(frozen=True)
class BuiltImage:
    """An image that a build produced, with what the operator wants to know about it."""

    name: str
    seconds: float
    size_bytes: int

    def summary(self) -> str:
        """One line: name, size and build time."""
        return f"{self.name}: {self.size_bytes / 1e6:.0f} MB, built in {self.seconds:.1f} s"


def _tree_digest(sha: hashlib._Hash, root: Path) -> None:
    for path in sorted(root.rglob("*")):
        sha.update(str(path.relative_to(root)).encode())
        if path.is_file():
            sha.update(path.read_bytes() if path.stat().st_size < 1_000_000 else b"")
            sha.update(str(path.stat().st_size).encode())


def ensure_server_image(
    image: str, recipe: str, staged: Mapping[str, Sequence[Path]] | None = None
) -> str:
    """Build ``image`` from ``infra/containers/<recipe>`` unless it is current; return its name.

    ``staged`` maps folder names in the build context to folders whose files
    are copied there (the Kafka jars); big files count in the digest by name
    and size.
    """
    base = ensure_base_image()
    base_id = (inspect_image(base) or {}).get("Id", "")
    sha = hashlib.sha256(base_id.encode())
    recipe_dir = CONTAINERS_DIR / recipe
    _tree_digest(sha, recipe_dir)
    for name, sources in sorted((staged or {}).items()):
        sha.update(name.encode())
        for source in sources:
            _tree_digest(sha, source)
    inputs = sha.hexdigest()[:32]
    previous = inspect_image(image)
    if previous is not None and (previous.get("Labels") or {}).get(INPUTS_LABEL) == inputs:
        return image
    context = cache_dir() / "containers" / f"{recipe}-context"
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(recipe_dir, context)
    for name, sources in (staged or {}).items():
        for source in sources:
            shutil.copytree(
                source, context / name, ignore=shutil.ignore_patterns(".*"), dirs_exist_ok=True
            )
    run_podman(
        [
            "build",
            "--build-arg",
            f"BASE_IMAGE={base}",
            "--label",
            f"{INPUTS_LABEL}={inputs}",
            "-t",
            image,
            "-f",
            str(context / "Containerfile"),
            str(context),
        ],
        f"Building {image}",
    )
    shutil.rmtree(context, ignore_errors=True)
    if previous is not None:
        # The superseded build: hundreds of MB, untagged now, used by nothing.
        remove_image(str(previous["Id"]))
    return image


def ensure_kafka_image() -> str:
    """Kafka's broker and command-line tools on Debian's JRE, from the devstack's jars."""
    return ensure_server_image(
        KAFKA_IMAGE, "kafka", {"libs": [ensure_kafka(), ensure_kafka_tools()]}
    )


def ensure_prometheus_image() -> str:
    """Prometheus from Debian's package (``lanes-prometheus``)."""
    return ensure_server_image(PROMETHEUS_IMAGE, "prometheus")


def ensure_mongo_image() -> str:
    """The devstack's MongoDB-wire server on Debian's JRE, from its jars and launcher."""
    folder = ensure_mongo_server()
    return ensure_server_image(
        MONGO_IMAGE, "mongo", {"lib": [folder / "lib"], "classes": [folder / "classes"]}
    )


def ensure_server_images() -> list[str]:
    """Every image the local compose run needs besides Lanes itself."""
    return [ensure_kafka_image(), ensure_mongo_image(), ensure_prometheus_image()]


def build_lanes_image(show_output: bool = False) -> BuiltImage:
    """``podman build`` of the project's Dockerfile on the local base and uv images."""
    base, uv = ensure_base_image(), ensure_uv_image()
    started = time.monotonic()
    run_podman(
        [
            "build",
            "--build-arg",
            f"PYTHON_IMAGE={base}",
            "--build-arg",
            f"UV_IMAGE={uv}",
            "-t",
            LANES_IMAGE,
            "-f",
            str(REPO_ROOT / "Dockerfile"),
            str(REPO_ROOT),
        ],
        "Building the Lanes image",
        show_output=show_output,
    )
    seconds = time.monotonic() - started
    return BuiltImage(LANES_IMAGE, seconds, image_size_bytes(LANES_IMAGE))
