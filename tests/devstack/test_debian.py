"""Commands from Debian packages are the package's own files, not PATH's first match."""

from __future__ import annotations

from pathlib import Path

from lanes_devstack.debian import ensure_debian_command


def test_an_installed_packages_command_is_its_listed_file() -> None:
    """dpkg itself is installed on every Debian system: no apt-get runs here."""
    assert ensure_debian_command("dpkg", "dpkg-query") == Path("/usr/bin/dpkg-query")
