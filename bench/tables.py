"""Rates and resources as Markdown: accept, drain, scaling, history, the store, events, RSS."""

from __future__ import annotations

from typing import Any

from bench.markdown import markdown_table, met

TARGETS = {
    "accept": 0.25,
    "drain": 0.50,
    "scaling": 2.5,
    "history": 0.80,
}

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


def _rate_and_latencies(result: dict[str, Any], digits: int) -> list[str]:
    """req/s, then p50, p95 and p99 in ms with ``digits`` decimals."""
    latencies = (f"{result[p]:.{digits}f}" for p in ("p50_ms", "p95_ms", "p99_ms"))
    return [f"{result['throughput_rps']:.0f}", *latencies]


def _ratio_line(what: str, ratio: float, target: float) -> str:
    return f"{what}: **{ratio:.1%}** (target ≥ {target:.0%}: {met(ratio >= target)})"


def cpu_line(runs: dict[str, str], results: dict[str, Any]) -> str:
    """Each compared run's CPU time per request by server (ms), busiest first."""
    parts = []
    for name, label in runs.items():
        cpu = results[name].get("cpu_ms_per_request") or {}
        busiest = sorted(cpu.items(), key=lambda kv: -kv[1])
        parts.append(f"{label}: " + ", ".join(f"{k} {v:.2f}" for k, v in busiest if v >= 0.01))
    return "CPU time per request (ms, median of runs) during the " + "; ".join(parts) + "."


def accept_table(accept: dict[str, Any]) -> list[str]:
    """Gateway vs the bare FastAPI floor."""
    title = (
        f"Accept rate ({accept['connections']} connections, {accept['seconds_per_run']:.0f} s "
        f"per run, median of {accept['repetitions']})"
    )
    servers = (("gateway", "gateway `POST /v1/requests`"), ("bare", "bare FastAPI"))
    rows = [
        [label, *_rate_and_latencies(accept[name], 1), accept[name]["non_2xx"]]
        for name, label in servers
    ]
    columns = ["server", "req/s", "p50 (ms)", "p95 (ms)", "p99 (ms)", "non-2xx"]
    ratio = _ratio_line("Ratio gateway / bare", accept["ratio"], TARGETS["accept"])
    cpu = cpu_line({"gateway": "gateway runs", "bare": "bare runs"}, accept)
    return [*markdown_table(title, columns, rows), "", ratio, "", cpu, ""]


def drain_table(drain: dict[str, Any]) -> list[str]:
    """Processor vs the raw consume-and-write floor."""
    title = (
        f"Drain rate (`echo`, bursts of {drain['requests_per_burst']} over "
        f"{drain['users']} users, {drain['partitions']} partitions, one replica, median of "
        f"{drain['repetitions']})"
    )
    consumers = (("processor", "processor"), ("floor", "raw floor (consume + bulk upsert)"))
    rows = [[label, *_rate_and_latencies(drain[name], 0)] for name, label in consumers]
    columns = ["consumer", "req/s", "p50 (ms)", "p95 (ms)", "p99 (ms)"]
    ratio = _ratio_line("Ratio processor / floor", drain["ratio"], TARGETS["drain"])
    cpu = cpu_line({"processor": "processor bursts", "floor": "floor bursts"}, drain)
    return [*markdown_table(title, columns, rows), "", ratio, "", cpu, ""]


def scaling_table(scaling: dict[str, Any]) -> list[str]:
    """Throughput by ordering and replica count."""
    title = (
        f"Scaling (`sleep` {scaling['sleep_ms']} ms, bursts of "
        f"{scaling['requests_per_burst']} over {scaling['users']} users, "
        f"{scaling['partitions']} partitions, at most "
        f"{scaling.get('in_flight_per_replica', 256)} in flight per replica, "
        f"median of {scaling['repetitions']})"
    )
    rows = [
        [ordering, replicas, f"{r['throughput_rps']:.0f}", f"{r['speedup']:.2f}x",
         f"{r['p50_ms']:.0f}", f"{r['p99_ms']:.0f}"]
        for ordering, counts in scaling["orderings"].items()
        for replicas, r in counts.items()
    ]  # fmt: skip
    columns = ["ordering", "replicas", "req/s", "speed-up", "p50 (ms)", "p99 (ms)"]
    lines = markdown_table(title, columns, rows)
    key = scaling["orderings"].get("key", {})
    if "4" in key:
        lines += [
            "",
            f"Key ordering, 4 replicas over 1: **{key['4']['speedup']:.2f}x** "
            f"(target ≥ 2.5x: {met(key['4']['speedup'] >= TARGETS['scaling'])})",
        ]
    return [*lines, ""]


def history_table(history: dict[str, Any]) -> list[str]:
    """Accept and drain on a store seeded with finished requests, beside an empty one."""
    title = (
        f"History ({history['seeded_requests']:,} finished requests of the loaded users "
        f"already stored, beside an empty store; median of {history['repetitions']})"
    )
    rows: list[list[object]] = []
    for name, label in (("accept", "accept (`POST /v1/requests`)"), ("drain", "drain (`echo`)")):
        r = history[name]
        rows.append(
            [label, f"{r['empty']['throughput_rps']:.0f}", f"{r['seeded']['throughput_rps']:.0f}",
             f"**{r['ratio']:.1%}** ({met(r['ratio'] >= TARGETS['history'])})",
             f"{r['empty']['p99_ms']:.0f}", f"{r['seeded']['p99_ms']:.0f}",
             f"{r['seed_seconds']:.0f}"]
        )  # fmt: skip
    columns = ["path", "empty store (req/s)", "seeded store (req/s)", "seeded / empty",
               "p99 empty (ms)", "p99 seeded (ms)", "seeding took (s)"]  # fmt: skip
    return [*markdown_table(title, columns, rows), "", "Target: seeded ≥ 80% of empty.", ""]


def store_table(store: dict[str, Any]) -> list[str]:
    """What the embedded MongoDB-wire server serves alone, with and without per-write commits."""
    durable, timer = store["commit_per_write"], store["timer_commit"]
    large = f"{durable['large']:,}"
    rows = [
        [label.replace("{large}", large), f"{durable[key]:,.0f}{unit}{_cpu(durable, key)}",
         f"{timer[key]:,.0f}{unit}{_cpu(timer, key)}"]
        for label, key, unit in STORE_ROWS
    ]  # fmt: skip
    return [
        *markdown_table(
            "The store alone (mongo-java-server, H2 file backend, 16 concurrent tasks)",
            ["operation", "each write committed (devstack)", "H2's 1 s commit timer"],
            rows,
        ),
        "",
        "In brackets: the server's CPU time per operation (per document for the bulk).",
        "",
    ]


def _cpu(results: dict[str, Any], key: str) -> str:
    cpu = results.get("server_cpu_ms", {}).get(key)
    return "" if cpu is None else f" ({cpu:.2f} ms CPU)"


def broker_failover_table(failover: dict[str, Any]) -> list[str]:
    """Accepting through a leader election, next to the same run without one."""
    fail = failover["failover"]
    title = (
        f"Broker failover ({failover['clients']} closed-loop clients, 3 brokers, RF 3, "
        f"min ISR 2; a {failover['window_s']:.0f} s window from the kill, "
        f"median of {failover['repetitions']})"
    )
    rows = [
        [label, f"{r['accepted_per_s']:.1f}", f"{r['p99_ms']:.1f}", f"{r['max_ms']:.1f}",
         f"{r['not_202']:.0f}"]
        for label, r in (("no kill", failover["baseline"]), ("leader killed", fail))
    ]  # fmt: skip
    return [
        *markdown_table(title, ["run", "202/s", "p99 (ms)", "max (ms)", "not 202"], rows),
        "",
        f"Kill to new leaders in metadata: {fail['election_s']:.1f} s; kill to the first 202 "
        f"on a partition the dead broker led: {fail['kill_to_first_202_moved_s']:.1f} s "
        f"(on any partition: {fail['kill_to_first_202_s']:.2f} s).",
        "",
    ]


def events_table(events: dict[str, Any]) -> list[str]:
    """Status write → SSE event latency with many streams open, and their memory."""
    loads = [(f"burst ({events['requests']} requests at once)", events)]
    if events.get("trickle"):
        loads.append(("trickle (one request at a time)", events["trickle"]))
    rows = [
        [label, r["events"], *(f"{r[p]} ms" for p in ("p50_ms", "p95_ms", "p99_ms"))]
        for label, r in loads
    ]
    return [
        *markdown_table(
            f"Event latency, {events['clients']} streams open",
            ["load", "events", "p50", "p95", "p99"],
            rows,
        ),
        "",
        f"Gateway RSS per 100 open streams: {events['gateway_rss_mib_per_100_streams']} MiB.",
        "",
    ]


def rss_table(peaks: dict[str, dict[str, float]]) -> list[str]:
    """Peak RSS per phase and server."""
    kinds = sorted({k for kinds in peaks.values() for k in kinds})
    rows = [
        [phase, *(f"{values[k]:.0f}" if k in values else "" for k in kinds)]
        for phase, values in peaks.items()
        if phase != "setup"
    ]
    title = "Peak RSS (MiB; the largest single process of each kind)"
    return [*markdown_table(title, ["phase", *kinds], rows), ""]
