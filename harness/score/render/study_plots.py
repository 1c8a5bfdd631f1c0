"""The study report's plots (`recscale report`): every axis, the overview, the joint law, the planted floor.

* per axis: loss vs the axis's x, every curve with its law and interval band (:func:`.plots.curves_plot`);
* overview: every axis's quoted curve against x / its smallest x;
* joint: the N x D grid's loss vs D per model size with the joint law; the compute-optimal N against
  compute (the law's, and the IsoFLOP buckets' optima); the compute-optimal loss against compute with
  its predictions at 10x and 100x the largest compute measured;
* floor (synthetic data): the reducible loss (loss minus the Bayes loss) against training samples on
  log-log axes, where a power law is a straight line, with the fit; and the fitted floor c against the
  decades of data it was fitted on, with the Bayes loss and its 5% band.

A fit that is not a law is not drawn as one. Figures are written by :func:`.plots.save`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from harness.score.fits.allocation import optimum
from harness.score.fits.joint import JointFit
from harness.score.fits.power_law import PowerLawFit
from harness.score.fits.records import Interval
from harness.score.render import plots
from harness.score.render.plots import COLORS, MARKERS, STYLE, Curve, curves_plot, log_axis
from harness.score.study.build import GroupStudy
from harness.score.study.floor import data_curve
from harness.score.study.records import PlantedFloor, StudyAxis, StudyCurve, StudyGroup, StudyJoint, StudyReport
from harness.score.study.summary import AXIS_TITLES

# ------------------------------------------------------------------------------ axes, overview


def _study_label(curve: StudyCurve) -> str:
    family = f"{curve.family} · " if curve.family else ""
    source = ", ".join(curve.workloads) if len(curve.workloads) <= 2 else "pooled"
    fit = curve.curve.fit
    if fit is None:
        return f"{family}{source}: {curve.curve.slice_label} (no fit)"
    shown = f"b={fit.b:.3g}, c={fit.c:.3g}" if fit.is_law else f"not a law: {fit.status}"
    return f"{family}{source}: {curve.curve.slice_label} ({shown})"


def study_axis_plot(group: StudyGroup, axis: StudyAxis, fits: dict[tuple[str, int], PowerLawFit | None], out: Path,
                    stem: str) -> list[str]:
    curves = [Curve(_study_label(c), c.curve.x, c.curve.loss, c.curve.fit, MARKERS[i % len(MARKERS)],
                    COLORS[i % len(COLORS)], band=fits.get((axis.axis, i)))
              for i, c in enumerate(axis.curves)]
    return curves_plot(curves, group.bayes_floor, axis.x_label, f"final {group.loss_definition} (lower is better)",
                       f"{group.label.split(':')[0]}: quality vs {AXIS_TITLES[axis.axis]}", out, stem,
                       empty="no points with a final quality", size=(6.8, 4.4), legend_size=6)


def overview_plot(group: StudyGroup, out: Path, stem: str) -> list[str]:
    """The quoted curve of every axis with x / x_min: which axis slopes most."""
    axes = {a.axis: a for a in group.axes}
    curves = []
    for i, finding in enumerate(group.ranking):
        if finding.fit is None or finding.curve is None:
            continue
        fit = finding.fit
        curve = axes[finding.axis].curves[finding.curve].curve
        family = f" ({finding.family})" if finding.family else ""
        curves.append(Curve(f"{AXIS_TITLES[finding.axis]}{family}: {fit.return_per_decade:.3g} per 10x",
                            curve.x, curve.loss, fit, MARKERS[i % len(MARKERS)], COLORS[i % len(COLORS)],
                            x_unit=fit.x_min))
    return curves_plot(curves, group.bayes_floor, "x / smallest x of the curve (each axis in its own units)",
                       f"final {group.loss_definition} (lower is better)",
                       f"{group.label.split(':')[0]}: every axis's quoted curve, normalised", out, stem,
                       empty="no axis could be fitted", size=(6.8, 4.4), legend_size=6)


# ------------------------------------------------------------------------------------- joint


def _point_with_interval(ax: Axes, x: float, y: float, ci: Interval | None, marker: str, color: tuple) -> None:
    """A point and its interval as a vertical bar (a percentile interval need not hold its estimate)."""
    ax.plot([x], [y], marker, color=color, ms=4)
    if ci is not None:
        ax.vlines([x], ci.lo, ci.hi, color=color, lw=1.2)


def _grid_panel(ax: Axes, study: GroupStudy, fit: JointFit | None, loss: str) -> None:
    points = study.joint.points
    sizes = sorted({p.params["total"] for p in points})
    for i, size in enumerate(sizes):
        row = sorted((p for p in points if p.params["total"] == size), key=lambda p: p.train_samples)
        d = np.array([p.train_samples for p in row], dtype=float)
        color = COLORS[i % len(COLORS)]
        ax.plot(d, [p.loss for p in row], MARKERS[i % len(MARKERS)], color=color, ms=4, label=f"N = {size:.3g}")
        if fit is not None and fit.status == "ok":
            ds = np.geomspace(d.min(), d.max(), 50)
            ax.plot(ds, fit.predict(np.full_like(ds, size), ds), "-", color=color, lw=1.0)
    log_axis(ax, "x", [p.train_samples for p in points], minor_labels=False)
    log_axis(ax, "y", [p.loss for p in points], minor_labels=True)
    ax.set_xlabel("training samples D")
    ax.set_ylabel(f"final {loss}")
    ax.set_title("the grid, and the joint law (lines)" if fit is not None and fit.status == "ok"
                 else "the grid (the joint fit is no law: not drawn)")
    ax.legend(fontsize=6)


def _optimum_panels(n_ax: Axes, l_ax: Axes, study: GroupStudy, record: StudyJoint, fit: JointFit, loss: str) -> None:
    points, relation, allocation = study.joint.points, study.joint.relation, record.allocation
    compute = [p.train_flops for p in points]
    n_ax.plot(compute, [p.params["total"] for p in points], "x", color="grey", ms=3, label="grid points")
    l_ax.plot(compute, [p.loss for p in points], "x", color="grey", ms=3, label="grid points")
    if allocation is not None and relation is not None:
        for lo, hi, style in ((min(compute), max(compute), "-"), (max(compute), 100 * max(compute), "--")):
            cs = np.geomspace(lo, hi, 60)
            n_opt, _, best = (np.array([float(v) for v in found]) for found in
                              zip(*(optimum(fit.params_row(), c, relation) for c in cs), strict=True))
            n_ax.plot(cs, n_opt, style, color=COLORS[0], lw=1.2, label="law: N_opt" if style == "-" else None)
            l_ax.plot(cs, best, style, color=COLORS[0], lw=1.2, label="law: compute-optimal" if style == "-" else None)
        for at in allocation.at:
            _point_with_interval(l_ax, at.compute, at.loss.value, at.loss.ci, "o", COLORS[1])
            l_ax.annotate(f"{at.multiple:g}x", (at.compute, at.loss.value), fontsize=6, xytext=(4, 4),
                          textcoords="offset points")
    iso = record.isoflop
    optima = [(b.compute, b.n_opt) for b in iso.buckets if b.n_opt is not None] if iso is not None else []
    if optima:
        n_ax.plot(*zip(*optima, strict=True), "s", color=COLORS[2], mfc="none", ms=5, label="IsoFLOP optima")
    log_axis(l_ax, "y", [p.loss for p in points], minor_labels=True)
    n_ax.set_yscale("log")
    for ax, label in ((n_ax, "compute-optimal N (total parameters)"), (l_ax, f"final {loss}")):
        ax.set_xscale("log")
        ax.set_xlabel("training FLOPs C")
        ax.set_ylabel(label)
        ax.legend(fontsize=6)
    n_ax.set_title("N_opt(C): law (dashed: extrapolated)")
    l_ax.set_title("compute-optimal loss, predicted at 10x, 100x")


def joint_plot(group: StudyGroup, study: GroupStudy, out: Path, stem: str) -> list[str]:
    record = next(r for r in group.joint if r.params == "total")
    fit = study.joint.fits.get("total")
    loss = group.loss_definition
    fig, axes = plt.subplots(1, 3, figsize=(14.0, 4.2))
    _grid_panel(axes[0], study, fit, loss)
    if fit is not None and fit.status == "ok":
        _optimum_panels(axes[1], axes[2], study, record, fit, loss)
    else:
        for ax in axes[1:]:
            ax.text(0.5, 0.5, "no joint law: no compute-optimal split", transform=ax.transAxes, ha="center")
    fig.suptitle(f"{group.label.split(':')[0]}: joint law L(N, D) = E + A/N^alpha + B/D^beta (N = total parameters)")
    return plots.save(fig, out, stem)


# ------------------------------------------------------------------------------------- floor


def _reducible_panel(ax: Axes, group: StudyGroup, floor: PlantedFloor, fit: PowerLawFit | None) -> None:
    axis = next(a for a in group.axes if a.axis == "data")
    quoted = next((f.curve for f in group.ranking if f.axis == "data"), None)
    curve = data_curve(axis, quoted).curve
    xs = np.asarray(curve.x[:len(curve.loss)], dtype=float)
    reducible = np.asarray(curve.loss, dtype=float) - floor.bayes
    shown = reducible > 0
    ax.plot(xs[shown], reducible[shown], "o", color=COLORS[0], ms=4, label="points (NE above the Bayes NE)")
    drawn = list(reducible[shown])
    if fit is not None and fit.status == "ok":
        grid = np.geomspace(fit.x_min, fit.x_max, 100)
        line = fit.predict(grid) - floor.bayes
        keep = line > 0
        ax.plot(grid[keep], line[keep], "-", color=COLORS[0], lw=1.2,
                label=f"fit a x^-b + c - Bayes (b = {fit.b:.3g}, c - Bayes = {fit.c - floor.bayes:+.3g})")
        drawn += list(line[keep])
    log_axis(ax, "x", list(xs), minor_labels=False)
    log_axis(ax, "y", drawn, minor_labels=True)
    ax.set_xlabel("training samples")
    ax.set_ylabel(f"reducible {group.loss_definition}: final minus Bayes")
    ax.set_title("reducible loss (a power law is a line)")
    ax.legend(fontsize=6)


def _range_panel(ax: Axes, floor: PlantedFloor) -> None:
    steps = [s for s in floor.steps if s.c is not None]
    low, high = floor.bayes * (1 - floor.tolerance), floor.bayes * (1 + floor.tolerance)
    ax.axhspan(low, high, color="black", alpha=0.08, lw=0, label=f"Bayes +-{100 * floor.tolerance:g}%")
    ax.axhline(floor.bayes, color="black", ls=":", lw=1.0, label=f"Bayes {floor.bayes:.4g}")
    for step in steps:
        _point_with_interval(ax, step.decades, step.c, step.c_ci, "o" if step.status == "ok" else "x",  # type: ignore[arg-type]
                             COLORS[0])
    ax.set_xlabel("decades of training samples fitted (from the smallest)")
    ax.set_ylabel("fitted floor c (95% interval)")
    ax.set_title(f"fitted floor vs range: {floor.verdict.replace('_', ' ')}")
    ax.legend(fontsize=6)


def floor_plot(group: StudyGroup, study: GroupStudy, out: Path, stem: str) -> list[str]:
    floor = group.planted_floor
    assert floor is not None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.2))
    _reducible_panel(left, group, floor, study.floor_steps[-1].fit if study.floor_steps else None)
    _range_panel(right, floor)
    fig.suptitle(f"{group.label.split(':')[0]}: planted floor, {floor.curve}")
    return plots.save(fig, out, stem)


# ------------------------------------------------------------------------------------ writer


def write_study_plots(report: StudyReport, studies: Sequence[GroupStudy], out: Path) -> list[str]:
    """Draw every plot of a study into `out` (the plots folder), set the stems in `report`; the names, sorted."""
    names: list[str] = []
    with plt.rc_context(STYLE):
        for index, study in enumerate(studies, start=1):
            group = study.group
            prefix = f"set{index}-"
            for axis in group.axes:
                axis.plot = f"{prefix}{axis.axis}"
                names += study_axis_plot(group, axis, study.fits, out, axis.plot)
            group.overview_plot = f"{prefix}overview"
            names += overview_plot(group, out, group.overview_plot)
            if any(r.params == "total" and r.fit is not None for r in group.joint):
                group.joint_plot = f"{prefix}joint"
                names += joint_plot(group, study, out, group.joint_plot)
            if group.planted_floor is not None and study.floor_steps:
                group.planted_floor.plot = f"{prefix}floor"
                names += floor_plot(group, study, out, group.planted_floor.plot)
    report.plots = sorted(f"plots/{name}" for name in names)
    return sorted(names)
