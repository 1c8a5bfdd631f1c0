"""A document as sections of text, tables and figures; numbers formatted once; its Markdown.

The leaderboard (:mod:`.leaderboard`) and the study report (:mod:`.study`) are built as sections;
Markdown (here) and HTML (:mod:`.html`) render the same sections, so they always show the same
numbers. A fit that is not a law (:attr:`PowerLawSummary.is_law`) is shown with its status, never as
a formula.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.score.fits.records import NO_INTERVAL_WORDS, Interval, PowerLawSummary


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Section:
    title: str
    level: int = 2
    anchor: str = ""
    text: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (plot stem, caption)


# ----------------------------------------------------------------------------------- numbers


def num(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def ends(lo: float, hi: float) -> str:
    """'[lo, hi]' with the digits that tell the two ends apart (3 more than the width's own)."""
    width = hi - lo
    scale = max(abs(lo), abs(hi))
    extra = math.ceil(math.log10(scale / width)) if width > 0 and scale > width else 0
    digits = min(max(3 + extra, 3), 8)
    return f"[{lo:.{digits}g}, {hi:.{digits}g}]"


def ci(interval: Interval | None) -> str:
    return "" if interval is None else f" {ends(interval.lo, interval.hi)}"


def interval_text(fit: PowerLawSummary, name: str) -> str:
    """' [lo, hi]' of a parameter ('a', 'b', 'c'), ' (ill-conditioned: ...)' when withheld as such, else ''."""
    interval = getattr(fit, f"{name}_ci")
    if interval is not None:
        return ci(interval)
    why = fit.no_interval.get(name)  # type: ignore[call-overload]
    return f" ({NO_INTERVAL_WORDS[why]})" if why == "ill_conditioned" else ""


def estimate(fit: PowerLawSummary | None, name: str, digits: int = 4) -> str:
    """A parameter of a law with its interval; '–' when there is no fit or it is not a law."""
    if fit is None or not fit.is_law:
        return "–"
    return num(getattr(fit, name), digits) + interval_text(fit, name)


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}" if value >= 10 else f"{value:.3g}"


def extrapolation(fit: PowerLawSummary | None) -> str:
    if fit is None or not fit.is_law:
        return "–"
    if fit.extrapolation is None:
        return "not checked"
    return f"{100 * fit.extrapolation.max_abs_rel_error:.2g}%"


def law(fit: PowerLawSummary | None) -> str:
    if fit is None:
        return "–"
    if not fit.is_law:
        return f"not a law ({fit.status.replace('_', ' ')})"
    return f"{fit.a:.4g} x^-{fit.b:.4g} + {fit.c:.4g}"


# ---------------------------------------------------------------------------------- markdown


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def sections_markdown(sections: Sequence[Section]) -> str:
    """Sections as GitHub-flavoured Markdown (figures linked from plots/)."""
    out: list[str] = []
    for section in sections:
        out += ["#" * section.level + " " + section.title, ""]
        for paragraph in section.text:
            out += [paragraph, ""]
        for table in section.tables:
            if table.caption:
                out += [f"*{table.caption}*", ""]
            out.append("| " + " | ".join(map(_md_cell, table.header)) + " |")
            out.append("|" + "---|" * len(table.header))
            out += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in table.rows]
            out.append("")
        for stem, caption in section.figures:
            out += [f"![{caption}](plots/{stem}.svg) ([PNG](plots/{stem}.png))", ""]
    return "\n".join(out).rstrip() + "\n"
