"""Plain-text tables for the terminal."""

from collections.abc import Sequence
from typing import Any


def cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else str(value)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if i else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths, strict=True)))

    rule = "-" * len(line(list(headers)))
    return "\n".join([title, rule, line(list(headers)), rule, *map(line, cells), rule])


def dict_table(title: str, rows: Sequence[dict[str, Any]]) -> str:
    """A table of dicts: one column per key, in first-seen order."""
    headers: list[str] = []
    for row in rows:
        headers += [k for k in row if k not in headers]
    return table(title, headers, [[row.get(h) for h in headers] for row in rows])


def channel_rate(run: dict[str, Any], channel: str) -> float:
    """Reports per second of `channel` in a run of part (c), from its first to its last."""
    return float(run.get("per_channel", {}).get(channel, {}).get("per_s", 0.0))
