"""Provisioned tools: fetched or built only when missing, timed, and never taken from PATH."""

from __future__ import annotations

import re
import shlex
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanes_devstack.errors import DevstackError
from lanes_devstack.paths import REPO_ROOT
from lanes_devstack.provision import run_build_step
from lanes_devstack.tools import (
    COMMANDS_NEVER_FROM_PATH,
    ProvisionedTool,
    ProvisionRecord,
    format_summary,
    provision_all,
    take_make_records,
)


class FakeTool:
    """A tool that is cached or not, and counts how often it was provisioned."""

    def __init__(self, cached: bool) -> None:
        self.cached = cached
        self.ensured = 0

    def is_provisioned(self) -> bool:
        return self.cached

    def ensure(self) -> Path:
        self.ensured += 1
        self.cached = True
        return Path("/cache/tool")


def ticking_clock(step: float) -> Iterator[float]:
    """Each reading is ``step`` seconds after the previous one."""
    now = 0.0
    while True:
        yield now
        now += step


def test_only_missing_tools_are_provisioned_each_timed_in_order() -> None:
    """A cached tool is not fetched again; each step's time is its own."""
    cached, missing = FakeTool(cached=True), FakeTool(cached=False)
    tools = [
        ProvisionedTool(
            "jars", "fetched", "Maven Central", cached.is_provisioned, cached.ensure, lane="a"
        ),
        ProvisionedTool("binary", "built", "Go", missing.is_provisioned, missing.ensure, lane="a"),
    ]
    announced: list[str] = []
    clock = ticking_clock(2.5)

    records = provision_all(tools, announced.append, lambda: next(clock))

    assert (cached.ensured, missing.ensured) == (0, 1)
    assert records == [
        ProvisionRecord("jars", "cached", "Maven Central", 2.5),
        ProvisionRecord("binary", "built", "Go", 2.5),
    ]
    assert announced == ["binary: building from Go...", "binary: built in 2 s"]


def test_lanes_run_at_once_and_each_lane_in_order() -> None:
    """A download need not wait for a compile; tools sharing a lane never overlap."""
    order: list[str] = []
    other_lane_started = threading.Event()

    def first() -> Path:
        # Returns only if the other lane runs meanwhile (fails after 10 s otherwise).
        assert other_lane_started.wait(10), "the lanes did not run at once"
        order.append("first")
        return Path("/first")

    def second() -> Path:
        order.append("second")
        return Path("/second")

    def elsewhere() -> Path:
        other_lane_started.set()
        return Path("/elsewhere")

    tools = [
        ProvisionedTool("first", "built", "Go", lambda: False, first, lane="go"),
        ProvisionedTool("second", "built", "Go", lambda: False, second, lane="go"),
        ProvisionedTool("elsewhere", "fetched", "Maven", lambda: False, elsewhere, lane="maven"),
    ]

    records = provision_all(tools, lambda _: None)

    assert order == ["first", "second"]
    assert [r.name for r in records] == ["first", "second", "elsewhere"]


def test_the_makefiles_notes_are_read_once(tmp_path: Path) -> None:
    """The uv install and sync the Makefile timed show in one summary, not in every later one."""
    notes = tmp_path / "provision-times.tsv"
    notes.write_text("uv 0.13.9\tinstalled\tPyPI\t9\nPython packages\tsynced\tPyPI (uv sync)\t74\n")

    assert take_make_records(notes) == [
        ProvisionRecord("uv 0.13.9", "installed", "PyPI", 9.0),
        ProvisionRecord("Python packages", "synced", "PyPI (uv sync)", 74.0),
    ]
    assert take_make_records(notes) == []


def test_the_summary_says_what_was_done_where_from_and_how_long() -> None:
    """One line per tool, then the total: why a first run is slow, at a glance."""
    summary = format_summary(
        [
            ProvisionRecord("Kafka broker jars", "cached", "Maven Central", 0.2),
            ProvisionRecord("promtool v3.5.0", "built", "the Go module proxy", 412.3),
        ],
        Path("/repo/.lanes"),
        elapsed=400.0,
    )

    lines = summary.splitlines()
    assert "/repo/.lanes" in lines[0]
    assert re.fullmatch(r"\s+Kafka broker jars\s+cached\s+0\.2 s", lines[1])
    assert re.fullmatch(
        r"\s+promtool v3\.5\.0\s+built from the Go module proxy\s+412\.3 s", lines[2]
    )
    assert re.fullmatch(r"\s+total \(lanes run at once\)\s+400\.0 s", lines[3])


def test_ci_shadows_every_provisioned_command_with_a_decoy() -> None:
    """A tool added to the provisioned list is guarded in CI too."""
    script = (REPO_ROOT / ".ci" / "run").read_text()
    match = re.search(r"^DECOYS=\((.*)\)$", script, re.M)
    assert match is not None, ".ci/run has no DECOYS=(...) line"
    assert sorted(shlex.split(match[1])) == sorted(COMMANDS_NEVER_FROM_PATH)


def test_the_makefile_installs_the_uv_the_image_uses() -> None:
    """The uv that locks and syncs here is the uv the image builds with."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    make_version = re.search(r"^UV_VERSION := (\S+)$", makefile, re.M)
    image_version = re.search(r"astral-sh/uv:(\S+)", dockerfile)
    assert make_version is not None and image_version is not None
    assert make_version[1] == image_version[1]


def test_a_build_step_that_overruns_says_what_and_how_to_go_on(tmp_path: Path) -> None:
    """A timeout is the devstack's error, with the step's name, not a traceback."""
    with pytest.raises(DevstackError, match=r"Building x did not finish within 0 s.*run it again"):
        run_build_step(["python3", "-c", "while True: pass"], "Building x", tmp_path, timeout=0.2)
