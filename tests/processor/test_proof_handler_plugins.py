"""Handlers are plugins: a package that registers ``lanes.handlers`` entry points adds types.

The plugin here is a distribution written into a folder on the replica's
``PYTHONPATH`` (a module and its ``.dist-info``), exactly what ``pip install``
of a handler package leaves behind, so the replica finds it the way it finds
any installed plugin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lanes_common.documents import decode_json_value
from lanes_common.types import MongoDocument
from lanes_devstack.infra_modes import IntegrationInfra
from tests.processor.proof_checks import assert_one_at_a_time_in_offset_order
from tests.processor.proof_kafka import Produced, request
from tests.processor.proof_support import proof_run

pytestmark = pytest.mark.integration

PLUGIN_MODULE = '''
"""Handlers of a third-party package, for the plugin proofs."""

import datetime


async def shout(request):
    return {"shouted": str(request.payload.get("text", "")).upper(), "attempt": request.attempt}


async def timestamp(request):
    # Not JSON: a handler bug the processor must turn into a failed request.
    return {"at": datetime.datetime.now(datetime.timezone.utc)}
'''

ENTRY_POINTS = """[lanes.handlers]
shout = proof_plugin:shout
timestamp = proof_plugin:timestamp
"""


def install_plugin(site: Path) -> Path:
    """Write the plugin distribution into ``site``; returns the folder for ``PYTHONPATH``."""
    dist_info = site / "proof_plugin-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (site / "proof_plugin.py").write_text(PLUGIN_MODULE)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: proof-plugin\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(ENTRY_POINTS)
    return site


async def run_behind_an_echo(
    infra: IntegrationInfra, unique_name: str, tmp_path: Path, request_type: str, payload: Any
) -> tuple[list[Produced], dict[str, MongoDocument], MongoDocument | None]:
    """A plugin's request, then one user's echo behind it, on a replica with the plugin.

    Returns what was produced, the statuses, and the plugin request's whole document.
    """
    env = {"PYTHONPATH": str(install_plugin(tmp_path / "site"))}
    async with proof_run(infra, unique_name, tmp_path / "logs", partitions=1, env=env) as run:
        first = request("plugin-user", request_type, payload)
        after = request("plugin-user", "echo", {"n": 1})
        produced = await run.producer.produce([first, after])
        docs = await run.reader.wait_terminal([p.id for p in produced], within=60)
        return produced, docs, await run.reader.one(first.id)


async def test_a_handler_registered_by_entry_point_serves_its_type(
    infra: IntegrationInfra, unique_name: str, tmp_path: Path
) -> None:
    produced, docs, recorded = await run_behind_an_echo(
        infra, unique_name, tmp_path, "shout", {"text": "lanes"}
    )
    after = produced[1]

    assert recorded is not None
    assert recorded["state"] == "succeeded"
    assert decode_json_value(recorded["result_json"]) == {"shouted": "LANES", "attempt": 1}
    assert docs[after.id]["state"] == "succeeded"
    assert assert_one_at_a_time_in_offset_order(produced, docs) == 1


async def test_a_result_that_is_not_json_fails_the_request_and_the_queue_moves_on(
    infra: IntegrationInfra, unique_name: str, tmp_path: Path
) -> None:
    (broken, after), docs, _ = await run_behind_an_echo(
        infra, unique_name, tmp_path, "timestamp", {}
    )

    # Retrying would get the same result back: it fails at once, like a permanent error.
    assert (docs[broken.id]["state"], docs[broken.id]["attempts"]) == ("failed", 1)
    assert "not JSON" in docs[broken.id]["error"]["message"]
    assert docs[after.id]["state"] == "succeeded"
