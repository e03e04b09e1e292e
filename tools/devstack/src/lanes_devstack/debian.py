"""Commands the project takes from Debian packages it installs itself (wrk, for the benchmarks).

The command used is the file the package installed, as dpkg lists it, not
the first of that name on PATH: a copy built by hand elsewhere would make a
benchmark measure a tool nobody else has.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from lanes_devstack.errors import DevstackError


def _package_file(package: str, command: str) -> Path | None:
    listing = subprocess.run(
        ["dpkg-query", "--listfiles", package], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        return None
    for line in listing.stdout.splitlines():
        path = Path(line)
        if path.name == command and path.parent.name == "bin" and path.is_file():
            return path
    return None


def ensure_debian_command(package: str, command: str) -> Path:
    """``command`` from Debian's ``package``, installed with apt-get when missing."""
    if shutil.which("dpkg-query") is None:
        raise DevstackError(
            f"{command} comes from Debian's '{package}' package, and this is not a Debian "
            "system (no dpkg-query)."
        )
    found = _package_file(package, command)
    if found is not None:
        return found
    result = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", package],
        capture_output=True,
        text=True,
        check=False,
    )
    found = _package_file(package, command)
    if found is None:
        tail = "; ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise DevstackError(
            f"'apt-get install -y {package}' did not install {command} ({tail}). "
            "Run 'apt-get update' once, then try again."
        )
    return found
