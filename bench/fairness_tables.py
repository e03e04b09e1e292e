"""Fairness as Markdown: fast or light users' latency beside a slow or heavy user's load."""

from __future__ import annotations

from typing import Any

from bench import noisy_neighbour
from bench.markdown import markdown_table, met

HEAD_OF_LINE_TARGET = 1.5
"""Fast users' p99 with the slow user over without, in ``key`` ordering."""
FAST_PERCENTILES = ("fast_p50_ms", "fast_p95_ms", "fast_p99_ms")
LIGHT_PERCENTILES = ("light_p50_ms", "light_p95_ms", "light_p99_ms")


def head_of_line_table(hol: dict[str, Any]) -> list[str]:
    """Fast users' latency with and without the slow user."""
    w = hol["workload"]
    title = (
        f"Head-of-line (`bench.processor`: {w['slow_requests']} x {w['slow_ms']} ms from one "
        f"slow user among {w['fast_users']} x {w['fast_per_user']} requests of {w['fast_ms']} ms, "
        f"{w['partitions']} partition, one replica, median of {hol['repetitions']})"
    )
    rows: list[list[object]] = []
    for ordering, summary in hol["orderings"].items():
        for name, label in (("without_slow", "absent"), ("with_slow", "present")):
            r = summary[name]
            rows.append(
                [ordering, label, *(f"{r[p]:.0f}" for p in FAST_PERCENTILES),
                 f"{r['slow_done_s']:.1f}", f"{r['throughput_rps']:.0f}"]
            )  # fmt: skip
    columns = ["ordering", "slow user", "fast p50 (ms)", "fast p95 (ms)", "fast p99 (ms)",
               "slow done (s)", "req/s"]  # fmt: skip
    lines = markdown_table(title, columns, rows, text_columns=2)
    for ordering, summary in hol["orderings"].items():
        target = f" (target ≤ 1.5x: {met(summary['p99_ratio'] <= HEAD_OF_LINE_TARGET)})"
        lines.append(
            f"\nFast p99 with / without the slow user, {ordering}: **{summary['p99_ratio']:.2f}x**"
            + (target if ordering == "key" else "")
        )
    return [*lines, ""]


def noisy_neighbour_table(noisy: dict[str, Any]) -> list[str]:
    """Light users behind a heavy backlog: one row per run, then the targets."""
    title = (
        f"Noisy neighbour ({noisy['light_users']} light users x {noisy['light_per_user']} "
        f"`echo` behind one heavy user's backlog, 1 partition, one replica)"
    )
    rows: list[list[object]] = []
    for r in noisy["rows"]:
        cut = "≥ " if r["unfinished"] else ""
        rows.append(
            [r["ordering"], f"{r['backlog']:,}", *(f"{cut}{r[p]:.0f}" for p in LIGHT_PERCENTILES),
             f"{r['heavy_done_when_lights_done']:,}", f"{r['peak_rss_mib']:.0f}",
             r["repetitions"]]
        )  # fmt: skip
    columns = ["ordering", "heavy backlog", "light p50 (ms)", "light p95 (ms)", "light p99 (ms)",
               "heavy done when lights done", "peak RSS (MiB)", "runs"]  # fmt: skip
    lines = markdown_table(title, columns, rows)
    deadline = noisy_neighbour.PARTITION_DEADLINE
    for r in noisy["rows"]:
        if r["unfinished"]:
            lines.append(
                f"\n≥: cut off after {deadline:.0f} s with {r['unfinished']} light "
                f"requests of {r['ordering']} / {r['backlog']:,} still waiting (counted as "
                "waiting that long: lower bounds)."
            )
    key, part, rss = noisy["p99_ratio_key"], noisy["p99_ratio_partition"], noisy["rss_ratio_big"]
    partition_cut = any(r["unfinished"] for r in noisy["rows"] if r["ordering"] == "partition")
    cut_off = "≥ " if partition_cut else ""
    p99_target, rss_target = noisy_neighbour.P99_TARGET, noisy_neighbour.RSS_TARGET
    return [
        *lines,
        "",
        f"Light p99 with / without the {noisy['heavy']:,} backlog, key: **{key:.2f}x** "
        f"(target ≤ {p99_target}x: {met(key <= p99_target)}); partition: "
        f"**{cut_off}{part:.2f}x**",
        "",
        f"Peak RSS with a {noisy['big_backlog']:,} backlog / with none: **{rss:.2f}x** "
        f"(target ≤ {rss_target}x: {met(rss <= rss_target)})",
        "",
    ]
