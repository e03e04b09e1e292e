"""The two images every local build starts from, made without a registry.

- ``lanes-base``: Debian bookworm from Debian's own packages (``debootstrap
  --variant=minbase``) with Debian's Python 3.11, trimmed like the official
  slim images. It stands in for ``python:3.11-slim-bookworm`` (the
  Dockerfile's ``PYTHON_IMAGE``) and is the base of the local server images.
- ``lanes-uv``: the one file ``/uv``, the uv the project provisions for
  itself; it stands in for ``ghcr.io/astral-sh/uv`` (``UV_IMAGE``).

Each image carries a label with a digest of what it was made from, so it is
made once and remade only when that changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from lanes_devstack.containers.podman import image_label, podman_env, run_podman
from lanes_devstack.errors import DevstackError
from lanes_devstack.paths import cache_dir
from lanes_devstack.tools import uv_binary

BASE_IMAGE = "localhost/lanes-base:bookworm"
UV_IMAGE = "localhost/lanes-uv:local"
INPUTS_LABEL = "dev.lanes.inputs"

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("python3", "ca-certificates")
# Later `apt-get install`s in builds get security fixes, no recommends, no docs.
SOURCES_LIST = f"""\
deb {DEBIAN_MIRROR} {DEBIAN_SUITE} main
deb {DEBIAN_MIRROR} {DEBIAN_SUITE}-updates main
deb http://deb.debian.org/debian-security {DEBIAN_SUITE}-security main
"""
APT_CONF = 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""
# Certificate authorities this machine adds to Debian's (a TLS-inspecting egress
# proxy, say): builds on the base image fetch through the same network.
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BASE_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    # uv (in builds) trusts only its own roots unless pointed at the system's.
    f"ENV SSL_CERT_FILE={CA_BUNDLE}",
    'CMD ["/bin/bash"]',
)
# Bump when the recipe below changes in a way the constants above do not show.
BASE_RECIPE_VERSION = "2"


def _digest(*parts: str | bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode() if isinstance(part, str) else part)
        sha.update(b"\0")
    return sha.hexdigest()[:32]


def _import(rootfs: Path, image: str, inputs: str, changes: tuple[str, ...]) -> None:
    """``tar -C rootfs -c . | podman import``: the folder becomes a one-layer image."""
    args = ["import", "--change", f"LABEL {INPUTS_LABEL}={inputs}"]
    for change in changes:
        args += ["--change", change]
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
    )
    assert tar.stdout is not None
    try:
        run_podman([*args, "-", image], f"Importing {image}", stdin=tar.stdout.fileno())
    finally:
        tar.stdout.close()
        if tar.wait() != 0:
            raise DevstackError(f"tar of {rootfs} failed (exit {tar.returncode})")


def _trim(rootfs: Path) -> None:
    """What Debian's slim images leave out: package caches, indexes, docs, manuals, locales."""
    (rootfs / "etc/apt/sources.list").write_text(SOURCES_LIST)
    (rootfs / "etc/apt/apt.conf.d/90lanes-slim").write_text(APT_CONF)
    (rootfs / "etc/dpkg/dpkg.cfg.d/90lanes-slim").write_text(DPKG_EXCLUDES)
    for folder in ("var/cache/apt", "var/lib/apt/lists", "usr/share/man", "usr/share/info"):
        shutil.rmtree(rootfs / folder, ignore_errors=True)
        (rootfs / folder).mkdir(parents=True)
    # Package scripts (the JRE's update-alternatives) link man pages into these.
    for section in range(1, 9):
        (rootfs / f"usr/share/man/man{section}").mkdir()
    for doc in (rootfs / "usr/share/doc").iterdir():
        for item in doc.iterdir() if doc.is_dir() else []:
            if item.name != "copyright":
                shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()
    for locale in (rootfs / "usr/share/locale").iterdir():
        if locale.name != "locale.alias":
            shutil.rmtree(locale) if locale.is_dir() else locale.unlink()
    # The host's resolver and name: podman provides its own per container.
    for name in ("etc/resolv.conf", "etc/hostname"):
        (rootfs / name).unlink(missing_ok=True)
    # Where python:3.11-slim keeps its interpreter (the Dockerfile's UV_PYTHON).
    for name in ("python3", "python"):
        link = rootfs / "usr/local/bin" / name
        link.unlink(missing_ok=True)
        link.symlink_to("/usr/bin/python3")


def _local_cas() -> list[Path]:
    return sorted(LOCAL_CA_DIR.glob("*.crt")) if LOCAL_CA_DIR.is_dir() else []


def _trust_local_cas(rootfs: Path) -> None:
    """Add this machine's own certificate authorities to the image's bundle."""
    cas = _local_cas()
    if not cas:
        return
    target = rootfs / LOCAL_CA_DIR.relative_to("/")
    target.mkdir(parents=True, exist_ok=True)
    for ca in cas:
        shutil.copy2(ca, target / ca.name)
    result = subprocess.run(
        ["chroot", str(rootfs), "update-ca-certificates"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DevstackError(f"update-ca-certificates in the base image failed:\n{result.stderr}")


def ensure_base_image() -> str:
    """Make ``lanes-base`` with debootstrap unless it is current; return its name."""
    inputs = _digest(
        BASE_RECIPE_VERSION, DEBIAN_SUITE, DEBIAN_MIRROR, *BASE_PACKAGES, SOURCES_LIST,
        APT_CONF, DPKG_EXCLUDES, *BASE_CHANGES, *(ca.read_bytes() for ca in _local_cas()),
    )  # fmt: skip
    if image_label(BASE_IMAGE, INPUTS_LABEL) == inputs:
        return BASE_IMAGE
    work = cache_dir() / "containers"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work, prefix="rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        try:
            _debootstrap(rootfs)
        finally:
            # debootstrap mounts /proc and /sys in the tree while it works; a failed
            # run can leave them there, and the folder's removal must not enter them.
            _unmount_under(rootfs)
        _trim(rootfs)
        _trust_local_cas(rootfs)
        _import(rootfs, BASE_IMAGE, inputs, BASE_CHANGES)
    return BASE_IMAGE


def _unmount_under(root: Path) -> None:
    prefix = str(root.resolve()) + "/"
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True, check=False)


def _debootstrap(rootfs: Path) -> None:
    """Debian from its own packages into ``rootfs`` (needs root and the mirror)."""
    result = subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            DEBIAN_SUITE,
            str(rootfs),
            DEBIAN_MIRROR,
        ],
        env=podman_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise DevstackError(
            f"debootstrap of Debian {DEBIAN_SUITE} failed (exit {result.returncode}; "
            f"it needs root and {DEBIAN_MIRROR}):\n{tail}"
        )


def ensure_uv_image() -> str:
    """Make ``lanes-uv`` (``/uv`` only) from the project's uv unless it is current."""
    uv = uv_binary()
    inputs = _digest(uv.read_bytes())
    if image_label(UV_IMAGE, INPUTS_LABEL) == inputs:
        return UV_IMAGE
    work = cache_dir() / "containers"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work, prefix="uv-") as tmp:
        shutil.copy2(uv, Path(tmp) / "uv")
        _import(Path(tmp), UV_IMAGE, inputs, ())
    return UV_IMAGE
