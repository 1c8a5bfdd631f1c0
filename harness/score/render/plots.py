"""The scorer's plots, PNG and SVG: the leaderboard's, and the parts the study report's (:mod:`.study_plots`) share.

Quality curves (loss vs an axis, log-log): the points of each curve, its fitted law (solid over
the fitted range, dashed beyond it up to a budget, a bootstrap band where one was computed and is
well-conditioned) and the Bayes floor; a fit that is not a law is not drawn. The leaderboard adds
the closed board's time to target per point and system, and MLPerf's learning curves and scores.
Every figure is written by :func:`save`. An axis is logarithmic only when it
has positive values to show, so a board of unreached points or diverged runs still draws.
SVGs carry a fixed hash salt and no date, PNGs no software tag, so a re-run writes the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display, no GUI toolkit

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from harness.score.fits.power_law import PowerLawFit
from harness.score.fits.records import PowerLawSummary, SliceFit, WorkloadFits
from harness.score.fits.workload import headline_slice
from harness.score.leaderboard.records import ClosedBoard, Leaderboard, MLPerfRow, OpenBoard

STYLE = {
    "svg.hashsalt": "recscale",  # SVG element ids from a fixed salt, not a random one
    "svg.fonttype": "none",  # text stays text: smaller files, selectable, no glyph paths
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100,
}
COLORS = plt.get_cmap("tab10").colors
MARKERS = ("o", "s", "^", "D", "v", "P", "X")  # entries with the same curve stay visible on top of each other
AXIS_TITLES = {"data": "training samples", "params": "parameters (total)", "compute": "training FLOPs"}
BAND_POINTS = 60

# ------------------------------------------------------------------------------------ basics


def save(fig: Figure, out: Path, stem: str) -> list[str]:
    """`fig` as `stem`.svg and `stem`.png under `out`, atomically; their names. Closes the figure."""
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for fmt, metadata in (("svg", {"Date": None, "Creator": None}), ("png", {"Software": None})):
        name = f"{stem}.{fmt}"
        tmp = out / f".{name}.tmp"
        fig.savefig(tmp, format=fmt, metadata=metadata, bbox_inches="tight", dpi=110)
        tmp.replace(out / name)  # atomic: a reader never sees half a plot
        names.append(name)
    plt.close(fig)
    return names


def _has_positive(values: Sequence[float | None]) -> bool:
    return any(v is not None and np.isfinite(v) and v > 0 for v in values)


def log_axis(ax: Axes, which: str, values: Sequence[float | None], minor_labels: bool) -> None:
    """Log scale with readable labels (even under a decade) when there is a positive value to show."""
    if not _has_positive(values):
        return  # matplotlib refuses a log scale over no positive data: stay linear (an empty plot)
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    if which == "x":
        axis.set_minor_formatter(NullFormatter())
        return
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_minor_locator(LogLocator(base=10, subs=tuple(np.arange(1, 10) / 1.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:.2g}") if minor_labels else NullFormatter())


def _law(fit: PowerLawSummary, xs: np.ndarray) -> np.ndarray:
    return fit.a * xs ** -fit.b + fit.c


def _band(fit: PowerLawFit | None, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The fit's bootstrap band of L over [lo, hi], or None without a well-conditioned one."""
    if fit is None or fit.interval("b") is None:
        return None
    xs = np.geomspace(lo, hi, BAND_POINTS)
    bands = [fit.predict_interval(float(x)) for x in xs]
    if any(b is None for b in bands):
        return None
    return xs, np.array([b[0] for b in bands]), np.array([b[1] for b in bands])  # type: ignore[index]


# ------------------------------------------------------------------------------ quality curves


@dataclass(frozen=True)
class Curve:
    """One curve of a quality plot: its points, its fit (drawn when a law), and how far to extend it."""

    label: str
    x: Sequence[float]
    loss: Sequence[float]
    fit: PowerLawSummary | None
    marker: str
    color: tuple
    reach: float | None = None  # extend the law, dashed, up to this x
    band: PowerLawFit | None = None  # draw this fit's bootstrap band
    x_unit: float = 1.0  # x is shown divided by this (the overview's normalised axes)


def _draw(ax: Axes, curve: Curve) -> list[float]:
    """Draw one curve; the loss values drawn (for the axis's scale)."""
    x = np.asarray(curve.x[:len(curve.loss)], dtype=float) / curve.x_unit
    ax.plot(x, curve.loss, curve.marker, color=curve.color, ms=4, alpha=0.85,
            mfc="none" if curve.marker != "o" else curve.color, label=curve.label)
    fit = curve.fit
    if fit is None or not fit.is_law:
        return list(curve.loss)
    xs = np.geomspace(fit.x_min, fit.x_max, 100)
    ax.plot(xs / curve.x_unit, _law(fit, xs), "-", color=curve.color, lw=1.2)
    if curve.reach and curve.reach > fit.x_max:
        ahead = np.geomspace(fit.x_max, curve.reach, 50)
        ax.plot(ahead / curve.x_unit, _law(fit, ahead), "--", color=curve.color, lw=1.0, alpha=0.8)
    band = _band(curve.band, fit.x_min, fit.x_max)
    if band is not None:
        ax.fill_between(band[0] / curve.x_unit, band[1], band[2], color=curve.color, alpha=0.15, lw=0)
    return [*curve.loss, *_law(fit, xs)]


def curves_plot(curves: Sequence[Curve], floor: float | None, x_label: str, loss_label: str, title: str,
                out: Path, stem: str, *, empty: str, size: tuple[float, float] = (6.4, 4.2),
                legend_size: int = 7) -> list[str]:
    """Quality vs x for `curves` on log-log axes, with the Bayes floor."""
    fig, ax = plt.subplots(figsize=size)
    drawn = [value for curve in curves for value in _draw(ax, curve)]
    xs = [x / curve.x_unit for curve in curves for x in curve.x]
    if floor is not None:
        ax.axhline(floor, color="black", ls=":", lw=1.0, label=f"Bayes floor {floor:.3f}")
        drawn.append(floor)
    log_axis(ax, "x", xs, minor_labels=False)
    log_axis(ax, "y", drawn, minor_labels=True)
    ax.set_xlabel(x_label)
    ax.set_ylabel(loss_label)
    ax.set_title(title, fontsize=9)
    if curves:
        ax.legend(fontsize=legend_size, loc="best")
    else:
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center")
    return save(fig, out, stem)


def _label(fit_slice: SliceFit, prefix: str) -> str:
    fit = fit_slice.fit
    if fit is None:
        return prefix
    return prefix + (f": b={fit.b:.3f}, c={fit.c:.3f}" if fit.is_law else f": not a law ({fit.status})")


def _slices(report: WorkloadFits, axis: str, every: bool) -> list[SliceFit]:
    """Every slice of an axis, or only its headline (the slice the leaderboard quotes)."""
    if not every:
        headline = headline_slice(report, axis)
        return [] if headline is None else [headline]
    return next((list(a.slices) for a in report.axes if a.axis == axis), [])


def workload_axis_plot(reports: Sequence[WorkloadFits], axis: str, reach: float | None, out: Path,
                       stem: str) -> list[str]:
    """Loss vs one axis for every entry of a workload (all slices when there is one entry)."""
    every = len(reports) == 1
    curves = []
    for i, report in enumerate(reports):
        for j, fit_slice in enumerate(_slices(report, axis, every)):
            prefix = fit_slice.slice_label if every else f"{report.label} ({fit_slice.slice_label})"
            curves.append(Curve(_label(fit_slice, prefix), fit_slice.x, fit_slice.loss, fit_slice.fit,
                                MARKERS[0 if every else i % len(MARKERS)], COLORS[(j if every else i) % len(COLORS)],
                                reach=reach if axis in ("data", "compute") else None))
    floors = [r.bayes_floor for r in reports if r.bayes_floor is not None]
    first = reports[0]
    title = AXIS_TITLES.get(axis, axis)
    return curves_plot(curves, floors[0] if floors else None, title, f"final {first.loss_definition} (lower is better)",
                       f"{first.workload_id} v{first.workload_version}: quality vs {title}", out, stem,
                       empty="no points with a final quality")


# --------------------------------------------------------------------------- boards and MLPerf


def short_point(point_id: str) -> str:
    """The values of a point id (``data.fraction=0.5,model.embedding.dim=16`` -> ``0.5 / 16``)."""
    return " / ".join(part.split("=", 1)[-1] for part in point_id.split(","))


def _point_axes(point_id: str) -> str:
    return ", ".join(part.split("=", 1)[0] for part in point_id.split(",") if "=" in part)


def systems_plot(board: ClosedBoard, out: Path, stem: str) -> list[str]:
    """Systems compared: the sweep time of each (left) and the time to target per point (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.4), gridspec_kw={"width_ratios": [1, 3]})
    labels = [f"{'#' + str(r.rank) if r.rank else '-'} {r.system}\n{r.stack.accelerator}\n{r.stack.embedding_backend}"
              for r in board.rows]
    colors = [COLORS[i % len(COLORS)] for i in range(len(board.rows))]
    sweep = [r.sweep_time_s for r in board.rows]
    left.bar(np.arange(len(board.rows)), [np.nan if s is None else s for s in sweep], color=colors)
    left.set_xticks(np.arange(len(board.rows)), labels, fontsize=6)
    log_axis(left, "y", sweep, minor_labels=False)
    left.set_ylabel("sweep time (s): sum of the points' pass times")
    left.set_title("time to complete the sweep" if _has_positive(sweep) else "no system completed the sweep")
    width = 0.8 / max(1, len(board.rows))
    positions = np.arange(len(board.points))
    times = [[p.time_to_target_s for p in row.per_point] for row in board.rows]
    for i, row in enumerate(board.rows):
        right.bar(positions + (i + 0.5) * width - 0.4, [np.nan if t is None else t for t in times[i]], width,
                  color=colors[i], label=row.system)
    right.set_xticks(positions, [short_point(p) for p in board.points], rotation=60, ha="right", fontsize=6)
    right.set_xlabel(f"point ({_point_axes(board.points[0])})" if board.points else "point")
    log_axis(right, "y", [t for row in times for t in row], minor_labels=False)
    right.set_ylabel("time to target (s), aggregated over runs")
    right.set_title(f"time to {board.metric} {'>=' if board.higher_is_better else '<='} {board.target:g} per point "
                    "(no bar: not reached)")
    right.legend(fontsize=7)
    fig.suptitle(f"{board.workload_id} v{board.workload_version}: systems compared (closed division)")
    return save(fig, out, stem)


def mlperf_curves_plot(rows: Sequence[MLPerfRow], out: Path, stem: str) -> list[str]:
    curves = []
    for i, row in enumerate(rows):
        x = [s for run in row.runs for s in run.eval_samples]
        loss = [1 - v for run in row.runs for v in run.eval_auc]
        fit = row.learning_curve
        label = f"{row.round} {row.system_name}: evaluations"
        if fit is not None:
            label += f"; fit b={fit.b:.3f}, c={fit.c:.4f}" if fit.is_law else f"; fit not a law ({fit.status})"
        curves.append(Curve(label, x, loss, fit, ".", COLORS[i % len(COLORS)]))
    return curves_plot(curves, None, "training samples seen", "1 - AUC (lower is better)",
                       "MLPerf Training dlrm_dcnv2: learning curves", out, stem, empty="no evaluations")


def mlperf_scores_plot(rows: Sequence[MLPerfRow], out: Path, stem: str) -> list[str]:
    fig, ax = plt.subplots(figsize=(6.4, 1.2 + 0.55 * len(rows)))
    labels = [f"{r.round} {r.system_name} ({r.stack.accelerator})" for r in rows]
    positions = np.arange(len(rows))
    ax.barh(positions, [r.score_minutes or 0.0 for r in rows], color=[COLORS[i % 10] for i in range(len(rows))],
            alpha=0.6, label="score (olympic mean)")
    for i, row in enumerate(rows):
        ax.plot(row.run_minutes, [i] * len(row.run_minutes), "k|", ms=10)
    ax.set_yticks(positions, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("minutes to target (bars: score; ticks: runs)")
    ax.set_title("MLPerf Training dlrm_dcnv2: time to train")
    return save(fig, out, stem)


# ------------------------------------------------------------------------------------- writers


def write_leaderboard_plots(board: Leaderboard, out: Path) -> list[str]:
    """Draw every plot of `board` into `out` (the plots folder); their names, sorted."""
    names: list[str] = []
    budgets: dict[str, OpenBoard] = {b.workload_id: b for b in board.open}
    with plt.rc_context(STYLE):
        for workload in sorted({r.workload_id for r in board.workload_fits}):
            reports = [r for r in board.workload_fits if r.workload_id == workload]
            open_board = budgets.get(workload)
            for axis in ("data", "params", "compute"):
                reach = None
                if open_board is not None and axis != "params":
                    reach = open_board.data_budget if axis == "data" else open_board.compute_budget
                names += workload_axis_plot(reports, axis, reach, out, f"{workload}-{axis}")
        for closed in board.closed:
            names += systems_plot(closed, out, f"{closed.workload_id}-systems")
        if board.mlperf:
            names += mlperf_curves_plot(board.mlperf, out, "mlperf-learning-curves")
            names += mlperf_scores_plot(board.mlperf, out, "mlperf-scores")
    return sorted(names)
