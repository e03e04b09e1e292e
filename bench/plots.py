"""The results as PNG plots, one small figure per comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def _save(fig: Figure, path: Path) -> None:
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
    _save(fig, path)


def plot_accept(accept: dict[str, Any], path: Path) -> None:
    """The gateway's accept rate beside the bare FastAPI floor's."""
    rates = {
        "gateway": accept["gateway"]["throughput_rps"],
        "bare FastAPI": accept["bare"]["throughput_rps"],
    }
    plot_bars("Accept rate (req/s)", rates, "requests/s", path)


def plot_drain(drain: dict[str, Any], path: Path) -> None:
    """The processor's drain rate beside the raw floor's."""
    rates = {
        "processor": drain["processor"]["throughput_rps"],
        "raw floor": drain["floor"]["throughput_rps"],
    }
    plot_bars("Drain rate, echo (req/s)", rates, "requests/s", path)


def plot_head_of_line(hol: dict[str, Any], path: Path) -> None:
    """Fast users' p99 alone and beside the slow user, per ordering."""
    orderings = hol["orderings"]
    p99s = {
        f"{o}\n{label}": orderings[o][name]["fast_p99_ms"]
        for o in orderings
        for name, label in (("without_slow", "alone"), ("with_slow", "+slow"))
    }
    plot_bars("Fast users' p99 (ms)", p99s, "ms", path)


def plot_history(history: dict[str, Any], path: Path) -> None:
    """Accept and drain rates on the empty and the seeded store."""
    rates = {
        f"{which}\n{store}": history[which][store]["throughput_rps"]
        for which in ("accept", "drain")
        for store in ("empty", "seeded")
    }
    title = f"With {history['seeded_requests']:,} finished requests stored (req/s)"
    plot_bars(title, rates, "requests/s", path)


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
    _save(fig, path)


def plot_noisy_neighbour(noisy: dict[str, Any], path: Path) -> None:
    """Light users' p50/p99 per run (log scale: partition ordering is orders of magnitude off)."""
    runs = noisy["rows"]
    labels = [f"{r['ordering']}\n{r['backlog']:,}" for r in runs]
    xs = range(len(runs))
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    ax.bar([x - 0.2 for x in xs], [r["light_p50_ms"] for r in runs], 0.4, label="p50")
    ax.bar([x + 0.2 for x in xs], [r["light_p99_ms"] for r in runs], 0.4, label="p99")
    for x, r in zip(xs, runs, strict=True):
        ax.annotate(
            f"{r['peak_rss_mib']:.0f} MiB", (x, r["light_p99_ms"]), ha="center", va="bottom"
        )
    ax.set_xticks(list(xs), labels)
    ax.set_yscale("log")
    ax.set_ylabel("light users' latency (ms)")
    ax.set_title("Light users behind a heavy backlog (ordering / backlog; peak RSS)")
    ax.legend()
    _save(fig, path)
