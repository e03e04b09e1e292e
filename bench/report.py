"""The results as ``results.json``, Markdown tables (``results.md``) and PNG plots."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import fairness_tables, plots, tables

Section = tuple[str, Callable[[dict[str, Any]], list[str]], Callable[[Any, Path], None] | None]

# In the order results.md shows them: the phase, its table, its plot (``<phase>.png``).
SECTIONS: list[Section] = [
    ("store", tables.store_table, None),
    ("accept", tables.accept_table, plots.plot_accept),
    ("drain", tables.drain_table, plots.plot_drain),
    ("scaling", tables.scaling_table, plots.plot_scaling),
    ("events", tables.events_table, None),
    ("head_of_line", fairness_tables.head_of_line_table, plots.plot_head_of_line),
    ("noisy_neighbour", fairness_tables.noisy_neighbour_table, plots.plot_noisy_neighbour),
    ("history", tables.history_table, plots.plot_history),
    ("broker_failover", tables.broker_failover_table, None),
]


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
    for phase, table, plot in SECTIONS:
        if phase in results:
            lines += table(results[phase])
            if plot is not None:
                plot(results[phase], out_dir / f"{phase}.png")
    lines += tables.rss_table(results.get("peak_rss_mib", {}))
    markdown = "\n".join(lines)
    (out_dir / "results.md").write_text(markdown)
    return markdown
