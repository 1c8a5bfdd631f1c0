"""Leaderboard plots, PNG and SVG, drawn from the Leaderboard record alone (reproducible bytes).

Per workload: loss vs training samples / parameters / training FLOPs on log-log axes with the
fitted curves (solid over the fitted range, dashed beyond it up to the open board's budget) and
the Bayes floor where known; the closed board's time to target per point and system. For MLPerf
results: 1 - AUC vs samples seen with the pooled fit, and the scores with every run.
SVGs carry a fixed hash salt and no date, PNGs no software tag, so a re-run writes the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display, no GUI toolkit

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from harness.score.models import (
    ClosedBoard,
    Leaderboard,
    MLPerfRow,
    OpenBoard,
    SliceFit,
    WorkloadReport,
)

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


def _save(fig: Figure, out: Path, stem: str) -> list[str]:
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


def _loss_axis(ax: Axes, label: str) -> None:
    """Log y with readable labels even when the range is under a decade."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_minor_locator(LogLocator(base=10, subs=tuple(np.arange(1, 10) / 1.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:.2g}"))
    ax.set_ylabel(label)


def _curve(ax: Axes, fit_slice: SliceFit, color: tuple, label: str, reach: float | None, marker: str = "o") -> None:
    ax.plot(fit_slice.x, fit_slice.loss, marker, color=color, ms=4, alpha=0.85, mfc="none" if marker != "o" else color,
            label=label)
    fit = fit_slice.fit
    if fit is None:
        return
    xs = np.geomspace(fit.x_min, fit.x_max, 100)
    ax.plot(xs, fit.a * xs ** -fit.b + fit.c, "-", color=color, lw=1.2)
    if reach and reach > fit.x_max:
        ahead = np.geomspace(fit.x_max, reach, 50)
        ax.plot(ahead, fit.a * ahead ** -fit.b + fit.c, "--", color=color, lw=1.0, alpha=0.8)


def _floor(ax: Axes, floor: float | None) -> None:
    if floor is not None:
        ax.axhline(floor, color="black", ls=":", lw=1.0, label=f"Bayes floor {floor:.3f}")


def _slices_to_draw(report: WorkloadReport, axis: str, every: bool) -> list[SliceFit]:
    entry = next((a for a in report.axes if a.axis == axis), None)
    if entry is None:
        return []
    if every:
        return list(entry.slices)
    return [entry.slices[entry.headline]] if entry.headline is not None else []


def axis_plot(reports: Sequence[WorkloadReport], axis: str, reach: float | None, out: Path, stem: str) -> list[str]:
    """Loss vs one axis for every report of a workload (all slices when there is one report)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    every = len(reports) == 1
    drawn = 0
    for i, report in enumerate(reports):
        for j, fit_slice in enumerate(_slices_to_draw(report, axis, every)):
            color = COLORS[(j if every else i) % len(COLORS)]
            label = fit_slice.slice_label if every else f"{report.label} ({fit_slice.slice_label})"
            if fit_slice.fit is not None:
                label += f": b={fit_slice.fit.b:.3f}, c={fit_slice.fit.c:.3f}"
            marker = MARKERS[0 if every else i % len(MARKERS)]
            _curve(ax, fit_slice, color, label, reach if axis in ("data", "compute") else None, marker)
            drawn += 1
    floors = [r.bayes_floor for r in reports if r.bayes_floor is not None]
    _floor(ax, floors[0] if floors else None)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(AXIS_TITLES.get(axis, axis))
    first = reports[0]
    _loss_axis(ax, f"final {first.loss_definition} (lower is better)")
    ax.set_title(f"{first.workload_id} v{first.workload_version}: quality vs {AXIS_TITLES.get(axis, axis)}")
    if drawn:
        ax.legend(fontsize=7, loc="best")
    else:
        ax.text(0.5, 0.5, "no points with a final quality", transform=ax.transAxes, ha="center")
    return _save(fig, out, stem)


def short_point(point_id: str) -> str:
    """The values of a point id (``data.fraction=0.5,model.embedding.dim=16`` -> ``0.5 / 16``)."""
    return " / ".join(part.split("=", 1)[-1] for part in point_id.split(","))


def _point_axes(point_id: str) -> str:
    return ", ".join(part.split("=", 1)[0] for part in point_id.split(",") if "=" in part)


def _time_axis(ax: Axes, label: str) -> None:
    _loss_axis(ax, label)
    ax.yaxis.set_minor_formatter(NullFormatter())


def systems_plot(board: ClosedBoard, out: Path, stem: str) -> list[str]:
    """Systems compared: the sweep time of each (left) and the time to target per point (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.4), gridspec_kw={"width_ratios": [1, 3]})
    labels = [f"{'#' + str(r.rank) if r.rank else '-'} {r.system}\n{r.stack.accelerator}\n{r.stack.embedding_backend}"
              for r in board.rows]
    colors = [COLORS[i % len(COLORS)] for i in range(len(board.rows))]
    sweep = [r.sweep_time_s if r.sweep_time_s is not None else np.nan for r in board.rows]
    left.bar(np.arange(len(board.rows)), sweep, color=colors)
    left.set_xticks(np.arange(len(board.rows)), labels, fontsize=6)
    _time_axis(left, "sweep time (s): sum of the points' pass times")
    left.set_title("time to complete the sweep")
    width = 0.8 / max(1, len(board.rows))
    positions = np.arange(len(board.points))
    for i, row in enumerate(board.rows):
        times = [p.time_to_target_s if p.time_to_target_s is not None else np.nan for p in row.per_point]
        right.bar(positions + (i + 0.5) * width - 0.4, times, width, color=colors[i], label=row.system)
    right.set_xticks(positions, [short_point(p) for p in board.points], rotation=60, ha="right", fontsize=6)
    right.set_xlabel(f"point ({_point_axes(board.points[0])})" if board.points else "point")
    _time_axis(right, "time to target (s), aggregated over runs")
    right.set_title(f"time to {board.metric} {'>=' if board.higher_is_better else '<='} {board.target:g} per point "
                    "(no bar: not reached)")
    right.legend(fontsize=7)
    fig.suptitle(f"{board.workload_id} v{board.workload_version}: systems compared (closed division)")
    return _save(fig, out, stem)


def mlperf_curves_plot(rows: Sequence[MLPerfRow], out: Path, stem: str) -> list[str]:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, row in enumerate(rows):
        color = COLORS[i % len(COLORS)]
        for j, run in enumerate(row.runs):
            ax.plot(run.eval_samples, [1 - v for v in run.eval_auc], ".", color=color, ms=2.5, alpha=0.5,
                    label=f"{row.round} {row.system_name}: evaluations" if j == 0 else None)
        fit = row.learning_curve
        if fit is not None:
            xs = np.geomspace(fit.x_min, fit.x_max, 100)
            ax.plot(xs, fit.a * xs ** -fit.b + fit.c, "-", color=color, lw=1.3,
                    label=f"fit: b={fit.b:.3f}, c={fit.c:.4f}")
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("training samples seen")
    _loss_axis(ax, "1 - AUC (lower is better)")
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_title("MLPerf Training dlrm_dcnv2: learning curves")
    ax.legend(fontsize=7)
    return _save(fig, out, stem)


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
    return _save(fig, out, stem)


def write_plots(board: Leaderboard, out: Path) -> list[str]:
    """Draw every plot of `board` into `out` (the plots folder); their names, sorted."""
    names: list[str] = []
    budgets: dict[str, OpenBoard] = {b.workload_id: b for b in board.open}
    with plt.rc_context(STYLE):
        workloads = sorted({r.workload_id for r in board.reports})
        for workload in workloads:
            reports = [r for r in board.reports if r.workload_id == workload]
            open_board = budgets.get(workload)
            for axis in ("data", "params", "compute"):
                reach = None
                if open_board is not None and axis != "params":
                    reach = open_board.data_budget if axis == "data" else open_board.compute_budget
                names += axis_plot(reports, axis, reach, out, f"{workload}-{axis}")
        for closed in board.closed:
            names += systems_plot(closed, out, f"{closed.workload_id}-systems")
        if board.mlperf:
            names += mlperf_curves_plot(board.mlperf, out, "mlperf-learning-curves")
            names += mlperf_scores_plot(board.mlperf, out, "mlperf-scores")
    return sorted(names)
