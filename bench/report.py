"""The results as ``results.json``, Markdown tables (``results.md``) and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from bench import noisy_neighbour

TARGETS = {
    "accept": 0.25,
    "drain": 0.50,
    "scaling": 2.5,
    "head_of_line": 1.5,
    "history": 0.80,
}


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def accept_table(accept: dict[str, Any]) -> list[str]:
    """Gateway vs the bare FastAPI floor."""
    lines = [
        f"### Accept rate ({accept['connections']} connections, {accept['seconds_per_run']:.0f} s "
        f"per run, median of {accept['repetitions']})",
        "",
        "| server | req/s | p50 (ms) | p95 (ms) | p99 (ms) | non-2xx |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("gateway", "gateway `POST /v1/requests`"), ("bare", "bare FastAPI")):
        r = accept[name]
        lines.append(
            f"| {label} | {r['throughput_rps']:.0f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['non_2xx']} |"
        )
    lines += [
        "",
        f"Ratio gateway / bare: **{accept['ratio']:.1%}** (target ≥ 25%: "
        f"{_met(accept['ratio'] >= TARGETS['accept'])})",
        "",
    ]
    return lines


def drain_table(drain: dict[str, Any]) -> list[str]:
    """Processor vs the raw consume-and-write floor."""
    lines = [
        f"### Drain rate (`echo`, bursts of {drain['requests_per_burst']} over "
        f"{drain['users']} users, {drain['partitions']} partitions, one replica, median of "
        f"{drain['repetitions']})",
        "",
        "| consumer | req/s | p50 (ms) | p95 (ms) | p99 (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label in (("processor", "processor"), ("floor", "raw floor (consume + bulk upsert)")):
        r = drain[name]
        lines.append(
            f"| {label} | {r['throughput_rps']:.0f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} "
            f"| {r['p99_ms']:.0f} |"
        )
    lines += [
        "",
        f"Ratio processor / floor: **{drain['ratio']:.1%}** (target ≥ 50%: "
        f"{_met(drain['ratio'] >= TARGETS['drain'])})",
        "",
    ]
    return lines


def scaling_table(scaling: dict[str, Any]) -> list[str]:
    """Throughput by ordering and replica count."""
    lines = [
        f"### Scaling (`sleep` {scaling['sleep_ms']} ms, bursts of "
        f"{scaling['requests_per_burst']} over {scaling['users']} users, "
        f"{scaling['partitions']} partitions, at most "
        f"{scaling.get('in_flight_per_replica', 256)} in flight per replica, "
        f"median of {scaling['repetitions']})",
        "",
        "| ordering | replicas | req/s | speed-up | p50 (ms) | p99 (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for ordering, counts in scaling["orderings"].items():
        for replicas, r in counts.items():
            lines.append(
                f"| {ordering} | {replicas} | {r['throughput_rps']:.0f} | {r['speedup']:.2f}x "
                f"| {r['p50_ms']:.0f} | {r['p99_ms']:.0f} |"
            )
    key = scaling["orderings"].get("key", {})
    if "4" in key:
        lines += [
            "",
            f"Key ordering, 4 replicas over 1: **{key['4']['speedup']:.2f}x** "
            f"(target ≥ 2.5x: {_met(key['4']['speedup'] >= TARGETS['scaling'])})",
        ]
    return [*lines, ""]


def head_of_line_table(hol: dict[str, Any]) -> list[str]:
    """Fast users' latency with and without the slow user."""
    w = hol["workload"]
    lines = [
        f"### Head-of-line (`bench.processor`: {w['slow_requests']} x {w['slow_ms']} ms from one "
        f"slow user among {w['fast_users']} x {w['fast_per_user']} requests of {w['fast_ms']} ms, "
        f"{w['partitions']} partition, one replica, median of {hol['repetitions']})",
        "",
        "| ordering | slow user | fast p50 (ms) | fast p95 (ms) | fast p99 (ms) | slow done (s) "
        "| req/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for ordering, summary in hol["orderings"].items():
        for name, label in (("without_slow", "absent"), ("with_slow", "present")):
            r = summary[name]
            lines.append(
                f"| {ordering} | {label} | {r['fast_p50_ms']:.0f} | {r['fast_p95_ms']:.0f} "
                f"| {r['fast_p99_ms']:.0f} | {r['slow_done_s']:.1f} | {r['throughput_rps']:.0f} |"
            )
    for ordering, summary in hol["orderings"].items():
        target = f" (target ≤ 1.5x: {_met(summary['p99_ratio'] <= TARGETS['head_of_line'])})"
        lines.append(
            f"\nFast p99 with / without the slow user, {ordering}: **{summary['p99_ratio']:.2f}x**"
            + (target if ordering == "key" else "")
        )
    return [*lines, ""]


STORE_ROWS = (
    ("`update_one({_id})`, 2k documents", "update_by_id_2k_per_s", "/s"),
    ("`update_one({_id})`, {large} documents", "update_by_id_large_per_s", "/s"),
    ("`find_one({_id})`, {large} documents", "find_by_id_large_per_s", "/s"),
    ("conditional `update_one({_id, state_rank: {$lt: 1}})`", "conditional_update_per_s", "/s"),
    ("`bulk_write`, 32 upserts per call, one writer", "bulk_upserts_docs_per_s", " docs/s"),
    ("`insert_one`, one writer", "insert_one_one_writer_per_s", "/s"),
    ("`insert_one`", "insert_one_per_s", "/s"),
    ("`count_documents({user_id, state})`, 20k documents", "count_ms_at_20k", " ms"),
    ("server RSS at the end (MiB)", "rss_mib", ""),
    ("server peak RSS (MiB)", "peak_rss_mib", ""),
    ("data file (MiB)", "data_file_mib", ""),
)


def history_table(history: dict[str, Any]) -> list[str]:
    """Accept and drain on a store seeded with finished requests, beside an empty one."""
    lines = [
        f"### History ({history['seeded_requests']:,} finished requests of the loaded users "
        f"already stored, beside an empty store; median of {history['repetitions']})",
        "",
        "| path | empty store (req/s) | seeded store (req/s) | seeded / empty | "
        "p99 empty (ms) | p99 seeded (ms) | seeding took (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("accept", "accept (`POST /v1/requests`)"), ("drain", "drain (`echo`)")):
        r = history[name]
        ok = _met(r["ratio"] >= TARGETS["history"])
        lines.append(
            f"| {label} | {r['empty']['throughput_rps']:.0f} | {r['seeded']['throughput_rps']:.0f} "
            f"| **{r['ratio']:.1%}** ({ok}) | {r['empty']['p99_ms']:.0f} "
            f"| {r['seeded']['p99_ms']:.0f} | {r['seed_seconds']:.0f} |"
        )
    return [*lines, "", "Target: seeded ≥ 80% of empty.", ""]


def store_table(store: dict[str, Any]) -> list[str]:
    """What the embedded MongoDB-wire server serves alone, with and without per-write commits."""
    durable, timer = store["commit_per_write"], store["timer_commit"]
    large = f"{durable['large']:,}"
    lines = [
        "### The store alone (mongo-java-server, H2 file backend, 16 concurrent tasks)",
        "",
        "| operation | each write committed (devstack) | H2's 1 s commit timer |",
        "|---|---:|---:|",
    ]
    for label, key, unit in STORE_ROWS:
        lines.append(
            f"| {label.replace('{large}', large)} "
            f"| {durable[key]:,.0f}{unit}{_cpu(durable, key)} "
            f"| {timer[key]:,.0f}{unit}{_cpu(timer, key)} |"
        )
    return [
        *lines,
        "",
        "In brackets: the server's CPU time per operation (per document for the bulk).",
        "",
    ]


def _cpu(results: dict[str, Any], key: str) -> str:
    cpu = results.get("server_cpu_ms", {}).get(key)
    return "" if cpu is None else f" ({cpu:.2f} ms CPU)"


def broker_failover_table(failover: dict[str, Any]) -> list[str]:
    """Accepting through a leader election, next to the same run without one."""
    base, fail = failover["baseline"], failover["failover"]
    lines = [
        f"### Broker failover ({failover['clients']} closed-loop clients, 3 brokers, RF 3, "
        f"min ISR 2; a {failover['window_s']:.0f} s window from the kill, "
        f"median of {failover['repetitions']})",
        "",
        "| run | 202/s | p99 (ms) | max (ms) | not 202 |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, r in (("no kill", base), ("leader killed", fail)):
        lines.append(
            f"| {label} | {r['accepted_per_s']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} "
            f"| {r['not_202']:.0f} |"
        )
    lines += [
        "",
        f"Kill to new leaders in metadata: {fail['election_s']:.1f} s; kill to the first 202 "
        f"on a partition the dead broker led: {fail['kill_to_first_202_moved_s']:.1f} s "
        f"(on any partition: {fail['kill_to_first_202_s']:.2f} s).",
        "",
    ]
    return lines


def events_table(events: dict[str, Any]) -> list[str]:
    """Status write → SSE event latency with many streams open, and their memory."""
    lines = [
        f"### Event latency, {events['clients']} streams open",
        "",
        "| load | events | p50 | p95 | p99 |",
        "|---|---:|---:|---:|---:|",
        f"| burst ({events['requests']} requests at once) | {events['events']} "
        f"| {events['p50_ms']} ms | {events['p95_ms']} ms | {events['p99_ms']} ms |",
    ]
    trickle = events.get("trickle")
    if trickle:
        lines.append(
            f"| trickle (one request at a time) | {trickle['events']} | {trickle['p50_ms']} ms "
            f"| {trickle['p95_ms']} ms | {trickle['p99_ms']} ms |"
        )
    lines += [
        "",
        f"Gateway RSS per 100 open streams: {events['gateway_rss_mib_per_100_streams']} MiB.",
        "",
    ]
    return lines


def rss_table(peaks: dict[str, dict[str, float]]) -> list[str]:
    """Peak RSS per phase and server."""
    kinds = sorted({k for kinds in peaks.values() for k in kinds})
    lines = [
        "### Peak RSS (MiB; the largest single process of each kind)",
        "",
        "| phase | " + " | ".join(kinds) + " |",
        "|---|" + "---:|" * len(kinds),
    ]
    for phase, values in peaks.items():
        if phase == "setup":
            continue
        cells = [f"{values[k]:.0f}" if k in values else "" for k in kinds]
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def plot_scaling(scaling: dict[str, Any], path: Path) -> None:
    """Throughput against replicas, one line per ordering."""
    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=100)
    for ordering, counts in scaling["orderings"].items():
        xs = [int(n) for n in counts]
        ax.plot(xs, [counts[str(n)]["throughput_rps"] for n in xs], marker="o", label=ordering)
    one = scaling["orderings"].get("key", {}).get("1", {}).get("throughput_rps")
    if one:
        xs = [int(n) for n in scaling["orderings"]["key"]]
        ax.plot(xs, [one * n for n in xs], linestyle=":", color="grey", label="linear (key)")
    ax.set_xlabel("processor replicas")
    ax.set_ylabel("requests/s")
    ax.set_title(f"Drain throughput, sleep {scaling['sleep_ms']} ms")
    ax.set_xticks([int(n) for n in next(iter(scaling["orderings"].values()))])
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_bars(title: str, pairs: dict[str, float], ylabel: str, path: Path) -> None:
    """A small bar chart: one figure per comparison."""
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    ax.bar(
        list(pairs),
        list(pairs.values()),
        color=["tab:blue", "tab:grey", "tab:orange", "tab:green"][: len(pairs)],
    )
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    for n, value in enumerate(pairs.values()):
        ax.annotate(f"{value:.0f}", (n, value), ha="center", va="bottom")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(results: dict[str, Any], out_dir: Path) -> str:
    """Write results.json, results.md and the plots; return the Markdown."""
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    lines = [
        f"# Lanes benchmark, {results['started_at'][:16].replace('T', ' ')} UTC"
        + (" (quick)" if results["quick"] else ""),
        "",
        f"Machine: {results['machine']['cpus']} CPUs, 1-min load average at start "
        f"{results['machine']['load_average_1m_at_start']:.2f}.",
        "",
    ]
    if "store" in results:
        lines += store_table(results["store"])
    if "accept" in results:
        lines += accept_table(results["accept"])
        plot_bars(
            "Accept rate (req/s)",
            {
                "gateway": results["accept"]["gateway"]["throughput_rps"],
                "bare FastAPI": results["accept"]["bare"]["throughput_rps"],
            },
            "requests/s",
            out_dir / "accept.png",
        )
    if "drain" in results:
        lines += drain_table(results["drain"])
        plot_bars(
            "Drain rate, echo (req/s)",
            {
                "processor": results["drain"]["processor"]["throughput_rps"],
                "raw floor": results["drain"]["floor"]["throughput_rps"],
            },
            "requests/s",
            out_dir / "drain.png",
        )
    if "scaling" in results:
        lines += scaling_table(results["scaling"])
        plot_scaling(results["scaling"], out_dir / "scaling.png")
    if "events" in results:
        lines += events_table(results["events"])
    if "head_of_line" in results:
        lines += head_of_line_table(results["head_of_line"])
        hol = results["head_of_line"]["orderings"]
        plot_bars(
            "Fast users' p99 (ms)",
            {
                f"{o}\n{label}": hol[o][name]["fast_p99_ms"]
                for o in hol
                for name, label in (("without_slow", "alone"), ("with_slow", "+slow"))
            },
            "ms",
            out_dir / "head_of_line.png",
        )
    if "noisy_neighbour" in results:
        lines += noisy_neighbour.table(results["noisy_neighbour"])
        noisy_neighbour.plot(results["noisy_neighbour"], out_dir / "noisy_neighbour.png")
    if "history" in results:
        lines += history_table(results["history"])
        h = results["history"]
        plot_bars(
            f"With {h['seeded_requests']:,} finished requests stored (req/s)",
            {
                f"{path}\n{store}": h[path][store]["throughput_rps"]
                for path in ("accept", "drain")
                for store in ("empty", "seeded")
            },
            "requests/s",
            out_dir / "history.png",
        )
    if "broker_failover" in results:
        lines += broker_failover_table(results["broker_failover"])
    lines += rss_table(results.get("peak_rss_mib", {}))
    markdown = "\n".join(lines)
    (out_dir / "results.md").write_text(markdown)
    return markdown
