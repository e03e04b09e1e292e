"""``make bench``: every phase below (broker failover on its own cluster) and memory.

    make bench                         # or: uv run python -m bench [--quick]

Starts its own Kafka and MongoDB-wire server on free loopback ports in a temporary
folder, runs every phase against a baseline measured in the same run, prints
the tables and writes ``bench/results/<UTC timestamp>/`` (``results.json``,
``results.md``, PNG plots, server logs). Everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import Settings, local_infra
from bench.rss import PeakRss
from lanes_common.logs import configure_logging

logger = logging.getLogger("bench")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PHASES = (
    "store",
    "accept",
    "drain",
    "scaling",
    "head_of_line",
    "noisy_neighbour",
    "history",
    "broker_failover",
    "events",
)


async def run_all(settings: Settings, phases: Sequence[str]) -> Path:
    """Start the servers, run the phases, write and print the results."""
    from bench import (
        accept,
        broker_failover,
        drain,
        events,
        head_of_line,
        history,
        noisy_neighbour,
        report,
        scaling,
        store_bound,
    )

    started = datetime.now(UTC)
    out_dir = RESULTS_DIR / started.strftime("%Y%m%dT%H%M%SZ")
    log_dir = out_dir / "logs"
    log_dir.mkdir(parents=True)
    results: dict[str, Any] = {
        "started_at": started.isoformat(),
        "quick": settings.quick,
        "machine": {"cpus": os.cpu_count(), "load_average_1m_at_start": os.getloadavg()[0]},
        "settings": settings.__dict__,
    }
    with tempfile.TemporaryDirectory(prefix="lanes-bench-") as scratch, PeakRss() as rss:
        work_dir = Path(scratch)
        infra = local_infra(work_dir / "infra")
        logger.info("starting Kafka and the MongoDB-wire server in %s", scratch)
        await asyncio.to_thread(infra.start)
        try:
            if "store" in phases:
                results["store"] = await store_bound.run_store_bound(settings, work_dir, rss)
            if "accept" in phases:
                results["accept"] = await accept.run_accept(infra, settings, work_dir, log_dir, rss)
            if "drain" in phases:
                results["drain"] = await drain.run_drain(infra, settings, log_dir, rss)
            if "scaling" in phases:
                results["scaling"] = await scaling.run_scaling(infra, settings, log_dir, rss)
            if "head_of_line" in phases:
                results["head_of_line"] = await head_of_line.run_head_of_line(
                    infra, settings, log_dir, rss
                )
            if "noisy_neighbour" in phases:
                results["noisy_neighbour"] = await noisy_neighbour.run_noisy_neighbour(
                    infra, settings, log_dir, rss
                )
            if "history" in phases:
                results["history"] = await history.run_history(
                    infra, settings, work_dir, log_dir, rss
                )
            if "broker_failover" in phases:
                results["broker_failover"] = await broker_failover.run_broker_failover(
                    infra, settings, work_dir, log_dir, rss
                )
            if "events" in phases:
                results["events"] = await events.run_events(infra, settings, work_dir, log_dir, rss)
            rss.sample()
        finally:
            await asyncio.to_thread(infra.stop)
        results["peak_rss_mib"] = rss.peaks()
    results["finished_at"] = datetime.now(UTC).isoformat()
    markdown = report.write_report(results, out_dir)
    sys.stdout.write(markdown)
    sys.stdout.write(f"\nResults: {out_dir}\n")
    return out_dir


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench``."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run of every phase")
    parser.add_argument(
        "--only",
        default=",".join(PHASES),
        help=f"comma-separated phases (default: {','.join(PHASES)})",
    )
    args = parser.parse_args(argv)
    phases = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    configure_logging("bench", "INFO", "text")
    # SIGTERM (a CI timeout, say) unwinds like Ctrl-C, so every server started is stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    from bench.wrk import WrkNotFoundError, locate_wrk

    if "accept" in phases or "history" in phases:
        try:
            locate_wrk()
        except WrkNotFoundError as exc:
            sys.stderr.write(f"bench: {exc}\n")
            return 2
    asyncio.run(run_all(Settings.create(args.quick), phases))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
