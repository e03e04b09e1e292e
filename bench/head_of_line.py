"""Head-of-line: `bench.processor`'s slow-user experiment, with and without the slow user.

The experiment is `bench.processor.run_mode` unchanged. "Without" is the same
workload whose slow user's requests take as long as everyone else's
(``slow_ms = fast_ms``), so the burst has the same size and order; the target
compares the fast users' p99 with and without the slow user, per ordering.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from bench.harness import Settings, median
from bench.processor import ORDERINGS, ModeResult, Workload, run_mode
from bench.rss import PeakRss
from lanes_devstack.infra import LocalInfra

logger = logging.getLogger("bench.head_of_line")


def workload(settings: Settings) -> Workload:
    """`bench.processor`'s default workload, or a smaller one for ``--quick``."""
    if settings.quick:
        return Workload(slow_requests=5, fast_users=40, fast_per_user=3)
    return Workload()


async def run_head_of_line(
    infra: LocalInfra, settings: Settings, log_dir: Path, rss: PeakRss
) -> dict[str, Any]:
    """Both orderings, with and without the slow user, ``settings.repetitions`` times each."""
    with_slow = workload(settings)
    without_slow = dataclasses.replace(with_slow, slow_ms=with_slow.fast_ms)
    results: dict[str, Any] = {
        "workload": dataclasses.asdict(with_slow),
        "repetitions": settings.head_of_line_repetitions,
        "orderings": {},
    }
    for ordering in ORDERINGS:
        runs: dict[str, list[ModeResult]] = {"with_slow": [], "without_slow": []}
        for rep in range(settings.head_of_line_repetitions):
            for name, shape in (("without_slow", without_slow), ("with_slow", with_slow)):
                rss.phase = f"head-of-line {ordering}"
                result = await run_mode(infra, shape, ordering, log_dir)
                logger.info("head-of-line %s %s rep %d: %s", ordering, name, rep + 1, result)
                runs[name].append(result)
        summary: dict[str, Any] = {}
        for name, results_ in runs.items():
            summary[name] = {
                "fast_p50_ms": median([r.fast_p50_ms for r in results_]),
                "fast_p95_ms": median([r.fast_p95_ms for r in results_]),
                "fast_p99_ms": median([r.fast_p99_ms for r in results_]),
                "slow_done_s": median([r.slow_done_s for r in results_]),
                "throughput_rps": median([r.throughput_rps for r in results_]),
                "runs": [dataclasses.asdict(r) for r in results_],
            }
        summary["p99_ratio"] = round(
            median(
                [
                    w.fast_p99_ms / max(o.fast_p99_ms, 0.1)
                    for w, o in zip(runs["with_slow"], runs["without_slow"], strict=True)
                ]
            ),
            2,
        )
        results["orderings"][ordering] = summary
    return results
