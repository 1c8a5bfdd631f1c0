"""The study report as Markdown (README.md) and its plots (PNG and SVG, reproducible bytes).

Plots: one per axis and data set (loss vs x on log axes, every curve with its fit and, where the
bootstrap gave one, its 95% band; the Bayes floor), and an overview of the quoted curves with x
divided by its smallest value, so the axis that slopes most stands out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter

from harness.score.fit import PowerLawFit
from harness.score.models import PointRow, StudyAxis, StudyCurve, StudyGroup, StudyReport
from harness.score.plots import COLORS, MARKERS, STYLE, _floor, _loss_axis, _save
from harness.score.render import Section, Table, ci, num, sections_markdown
from harness.score.study import GroupStudy
from harness.score.study_summary import AXIS_TITLES

BAND_POINTS = 60

# ------------------------------------------------------------------------------------- plots


def _band(fit: PowerLawFit | None, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The fit's bootstrap band of L over [lo, hi], or None without resamples."""
    if fit is None or fit.interval("b") is None:
        return None
    xs = np.geomspace(lo, hi, BAND_POINTS)
    bands = [fit.predict_interval(float(x)) for x in xs]
    if any(b is None for b in bands):
        return None
    return xs, np.array([b[0] for b in bands]), np.array([b[1] for b in bands])  # type: ignore[index]


def _curve_label(curve: StudyCurve) -> str:
    family = f"{curve.family} · " if curve.family else ""
    text = f"{family}{', '.join(curve.workloads) if len(curve.workloads) <= 2 else 'pooled'}: {curve.curve.slice_label}"
    fit = curve.curve.fit
    return text + (f" (b={fit.b:.3g}, c={fit.c:.3g})" if fit else " (no fit)")


def axis_plot(group: StudyGroup, axis: StudyAxis, fits: dict[tuple[str, int], PowerLawFit | None], out: Path,
              stem: str) -> list[str]:
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    for i, curve in enumerate(axis.curves):
        color = COLORS[i % len(COLORS)]
        points = curve.curve
        ax.plot(points.x[:len(points.loss)], points.loss, MARKERS[i % len(MARKERS)], color=color, ms=4,
                label=_curve_label(curve))
        fit = points.fit
        if fit is None:
            continue
        xs = np.geomspace(fit.x_min, fit.x_max, 100)
        ax.plot(xs, fit.a * xs ** -fit.b + fit.c, "-", color=color, lw=1.2)
        band = _band(fits.get((axis.axis, i)), fit.x_min, fit.x_max)
        if band is not None:
            ax.fill_between(band[0], band[1], band[2], color=color, alpha=0.15, lw=0)
    _floor(ax, group.bayes_floor)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(axis.x_label)
    _loss_axis(ax, f"final {group.loss_definition} (lower is better)")
    ax.set_title(f"{group.label.split(':')[0]}: quality vs {AXIS_TITLES[axis.axis]}", fontsize=9)
    ax.legend(fontsize=6, loc="best")
    return _save(fig, out, stem)


def overview_plot(group: StudyGroup, out: Path, stem: str) -> list[str]:
    """The quoted curve of every axis with x / x_min: which axis slopes most."""
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    axes = {a.axis: a for a in group.axes}
    drawn = 0
    for i, finding in enumerate(group.ranking):
        if finding.fit is None or finding.curve is None:
            continue
        curve = axes[finding.axis].curves[finding.curve].curve
        fit, color = finding.fit, COLORS[i % len(COLORS)]
        x0 = fit.x_min
        label = (f"{AXIS_TITLES[finding.axis]}{' (' + finding.family + ')' if finding.family else ''}: "
                 f"{fit.return_per_decade:.3g} per 10x")
        ax.plot(np.asarray(curve.x[:len(curve.loss)]) / x0, curve.loss, MARKERS[i % len(MARKERS)], color=color, ms=4,
                label=label)
        xs = np.geomspace(fit.x_min, fit.x_max, 100)
        ax.plot(xs / x0, fit.a * xs ** -fit.b + fit.c, "-", color=color, lw=1.2)
        drawn += 1
    _floor(ax, group.bayes_floor)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("x / smallest x of the curve (each axis in its own units)")
    _loss_axis(ax, f"final {group.loss_definition} (lower is better)")
    ax.set_title(f"{group.label.split(':')[0]}: every axis's quoted curve, normalised", fontsize=9)
    if drawn:
        ax.legend(fontsize=6, loc="best")
    else:
        ax.text(0.5, 0.5, "no axis could be fitted", transform=ax.transAxes, ha="center")
    return _save(fig, out, stem)


def write_plots(report: StudyReport, studies: Sequence[GroupStudy], out: Path) -> list[str]:
    """Draw every plot into `out` (the plots folder), set the stems in `report`; the file names, sorted."""
    names: list[str] = []
    with plt.rc_context(STYLE):
        for index, study in enumerate(studies, start=1):
            group = study.group
            prefix = f"set{index}-"
            for axis in group.axes:
                axis.plot = f"{prefix}{axis.axis}"
                names += axis_plot(group, axis, study.fits, out, axis.plot)
            group.overview_plot = f"{prefix}overview"
            names += overview_plot(group, out, group.overview_plot)
    report.plots = sorted(f"plots/{name}" for name in names)
    return sorted(names)


# ---------------------------------------------------------------------------------- markdown


def _extrapolation(curve: StudyCurve) -> str:
    fit = curve.curve.fit
    if fit is None:
        return "–"
    if fit.extrapolation is None:
        return fit.extrapolation_note or "not checked"
    ex = fit.extrapolation
    return ", ".join(f"{100 * e:+.2f}% at {x:.3g}" for x, e in zip(ex.held_x, ex.rel_error, strict=True))


def _notes(curve: StudyCurve) -> str:
    fit = curve.curve.fit
    parts = list(fit.notes) if fit else [curve.curve.error or ""]
    if curve.curve.co_varying:
        parts.append(f"confounded: {', '.join(curve.curve.co_varying)} also move")
    if curve.headline:
        parts.append("headline")
    return "; ".join(p for p in parts if p)


def _axis_section(axis: StudyAxis, loss: str) -> Section:
    rows = []
    for curve in axis.curves:
        fit = curve.curve.fit
        rows.append([
            ", ".join(curve.workloads) if len(curve.workloads) <= 3 else f"{len(curve.workloads)} workloads",
            (f"{curve.family}: " if curve.family else "") + curve.curve.slice_label,
            f"{len(curve.curve.x)} ({len(set(curve.curve.x))} distinct)",
            (num(fit.a) + ci(fit.a_ci, 3)) if fit else "–", (num(fit.b) + ci(fit.b_ci, 3)) if fit else "–",
            (num(fit.c) + ci(fit.c_ci, 3)) if fit else "–",
            num(curve.floor_gap, 3) if curve.floor_gap is not None else "–", _extrapolation(curve),
            f"{fit.return_per_decade:.3g} ({fit.return_per_decade_at_max:.3g})" if fit else "–",
            num(curve.bayes_floor), _notes(curve),
        ])
    table = Table(["workload", "curve", "points", "a [95% CI]", "b [95% CI]", "c [95% CI]", "c − floor",
                   "extrapolation (held-out x: rel. error)", f"{loss} drop per 10x (at max)", "Bayes floor", "notes"],
                  rows)
    figures = [(axis.plot, f"{loss} vs {axis.x_label}")] if axis.plot else []
    return Section(f"Axis: {axis.x_label}", level=3, text=[f"Curves: {axis.how}. Fit: {loss} = a x^-b + c."],
                   tables=[table], figures=figures)


def _points_table(workload: str, version: int, rows: Sequence[PointRow], loss: str) -> Table:
    table = []
    for p in rows:
        params = p.params
        table.append([p.point_id, f"{p.train_samples:,}", f"{params['total']:,}", f"{params['embedding']:,}",
                      f"{params['bottom_mlp']:,}", f"{params['interaction']:,}", f"{params['top_mlp']:,}",
                      f"{p.train_flops:.3g}", num(p.quality), f"{p.n_final}/{p.n_runs}"])
    return Table(["point", "samples", "params", "embedding", "bottom MLP", "interaction", "top MLP", "train FLOPs",
                  f"mean final {loss}", "runs (final/all)"], table, f"{workload} v{version}")


def _group_sections(group: StudyGroup, many: bool) -> list[Section]:
    loss = "NE" if group.loss_definition == "ne" else group.loss_definition
    head = Section(group.label if many else f"Findings: {group.label}", level=2, text=[
        f"Workloads: {', '.join(group.workloads)}; systems: {', '.join(group.systems)} ({group.n_runs} runs, each "
        f"point's {loss} the mean over its runs). Bayes floor: {num(group.bayes_floor)}.",
        "\n".join(f"- {line}" for line in group.summary)])
    if group.notes:
        head.text.append("Caveats:\n\n" + "\n".join(f"- {line}" for line in group.notes))
    if group.overview_plot:
        head.figures = [(group.overview_plot, "every axis's quoted curve, x / smallest x")]
    ranking = [[str(i), f.label, num(f.fit.return_per_decade, 3) if f.fit else "–",
                (num(f.fit.b, 3) + ci(f.fit.b_ci, 3)) if f.fit else "–",
                (num(f.fit.c) + ci(f.fit.c_ci, 3)) if f.fit else "–", num(f.floor_gap, 3),
                ", ".join(f.confounded) or ("" if f.fit else f.error or "")]
               for i, f in enumerate(group.ranking, start=1)]
    head.tables = [Table(["#", "quoted curve", f"{loss} drop per 10x", "b [95% CI]", "c [95% CI]", "c − floor",
                          "confounded by / why no fit"], ranking, "ranking: one quoted curve per axis")]
    sections = [head, *[_axis_section(axis, loss) for axis in group.axes]]
    sections.append(Section("Points", level=3, text=[f"Mean final {loss} per point over its runs."],
                            tables=[_points_table(w.workload_id, w.workload_version, w.points, loss)
                                    for w in group.points]))
    return sections


def study_readme(report: StudyReport) -> str:
    """The report's README.md."""
    checked = ("it passed `recscale check`" if report.checked
               else "**not checked** (`--no-check`): the numbers may come from an incomplete or non-compliant "
                    "submission")
    who = f"{report.submitter}, {report.division} division; " if report.submitter else ""
    intro = Section(f"Scaling study: {report.submission}", level=1, text=[
        f"{who}{checked}. Per axis: L = a x^-b + c fitted by the RecScale scorer (least squares on relative "
        f"residuals), {100 * report.level:g}% percentile bootstrap intervals over the points ({report.n_boot} "
        f"resamples, seed {report.seed}); extrapolation check: the largest 20% of the x values held out, refitted, "
        "predicted; return per decade: the mean drop of the fitted L per 10x of x over the observed range (in "
        "brackets: the local drop at the largest x); c − floor: the fitted irreducible term minus the Bayes-optimal "
        f"loss. recscale {report.recscale_version}."])
    if report.skipped_records:
        intro.text.append(f"{len(report.skipped_records)} unreadable run record(s) skipped: "
                          + ", ".join(report.skipped_records[:5]) + (" …" if len(report.skipped_records) > 5 else ""))
    sections = [intro]
    for group in report.groups:
        sections += _group_sections(group, len(report.groups) > 1)
    return sections_markdown(sections)


# ------------------------------------------------------------------------------------ output


def report_json(report: StudyReport) -> str:
    """The canonical text of report.json (floats to 10 significant digits), validated against its schema."""
    import json

    import jsonschema

    from harness.schemas import schema_of
    from harness.score.scoring import _rounded

    data = _rounded(report.model_dump(mode="json"))
    jsonschema.validate(data, schema_of("report"))
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"


def write_report(report: StudyReport, studies: Sequence[GroupStudy], out: Path) -> list[Path]:
    """Plots (stale ones removed), report.json and README.md under `out`; the files written."""
    from recscale.io import atomic_write_text

    plots = out / "plots"
    names = write_plots(report, studies, plots)
    for stale in plots.iterdir():
        if stale.is_file() and stale.suffix in (".png", ".svg") and stale.name not in names:
            stale.unlink()
    files = {"report.json": report_json(report), "README.md": study_readme(report)}
    for name, text in files.items():
        atomic_write_text(out / name, text)
    return [out / name for name in files] + [plots / name for name in names]
