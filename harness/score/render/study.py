"""The study report (`recscale report`) as a document: README.md, report.json and the plots, written to a folder.

README.md is rendered from the report as read back from report.json, so it shows exactly the
numbers report.json holds; a curve whose fit is not a law is listed with its status, not as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.score.fits.records import PointRow
from harness.score.render.document import Section, Table, ci, estimate, num, sections_markdown
from harness.score.render.files import canonical_json, remove_stale_plots, write_texts
from harness.score.render.study_plots import write_study_plots
from harness.score.render.study_sections import floor_section, joint_section, verdict_section
from harness.score.study.build import GroupStudy
from harness.score.study.joint import JOINT_BOOT
from harness.score.study.records import StudyAxis, StudyCurve, StudyGroup, StudyReport

# ---------------------------------------------------------------------------------- markdown


def _extrapolation(curve: StudyCurve) -> str:
    fit = curve.curve.fit
    if fit is None or not fit.is_law:
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
            estimate(fit, "a"), estimate(fit, "b"), estimate(fit, "c"),
            num(curve.floor_gap, 3) if curve.floor_gap is not None and fit and fit.is_law else "–",
            _extrapolation(curve),
            f"{fit.return_per_decade:.3g} ({fit.return_per_decade_at_max:.3g})" if fit and fit.is_law else "–",
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
    ranking = [[str(i), f.label, num(f.fit.return_per_decade, 3) + ci(f.return_ci) if f.fit else "–",
                estimate(f.fit, "b", 3),
                estimate(f.fit, "c"), num(f.floor_gap, 3),
                ", ".join(f.confounded) or ("" if f.fit else f.error or "")]
               for i, f in enumerate(group.ranking, start=1)]
    head.tables = [Table(["#", "quoted curve", f"{loss} drop per 10x [95% CI]", "b [95% CI]", "c [95% CI]", "c − floor",
                          "confounded by / why no fit"], ranking, "ranking: one quoted curve per axis")]
    sections = [head, verdict_section(group), joint_section(group)]
    if group.planted_floor is not None:
        sections.append(floor_section(group.planted_floor, loss))
    sections += [_axis_section(axis, loss) for axis in group.axes]
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
        f"residuals), {100 * report.settings.level:g}% percentile bootstrap intervals over the points "
        f"({report.settings.n_boot} resamples, seed {report.settings.seed}; an interval whose ends depend on the "
        "last bits of the arithmetic is marked ill-conditioned and not reported); a fit with its exponent on a "
        "bound or an unconverged optimiser is not a law and is shown with its status; extrapolation check: the "
        "largest 20% of the x values held out, refitted, predicted; return per decade: the mean drop of the fitted "
        "L per 10x of x over the observed range (in brackets: the local drop at the largest x); c − floor: the "
        "fitted irreducible term minus the Bayes-optimal loss. Joint law on the N x D grid: Chinchilla's approach 3, "
        f"intervals from {min(report.settings.n_boot, JOINT_BOOT)} resamples of the grid's points. Verdicts: "
        "*undecided* unless the intervals separate the answers. "
        f"recscale {report.recscale_version}."])
    if report.skipped_records:
        intro.text.append(f"{len(report.skipped_records)} unreadable run record(s) skipped: "
                          + ", ".join(report.skipped_records[:5]) + (" …" if len(report.skipped_records) > 5 else ""))
    sections = [intro]
    for group in report.groups:
        sections += _group_sections(group, len(report.groups) > 1)
    return sections_markdown(sections)


# ------------------------------------------------------------------------------------ output


def write_report(report: StudyReport, studies: Sequence[GroupStudy], out: Path) -> list[Path]:
    """Plots (stale ones removed), report.json and README.md under `out`; the files written."""
    plots = out / "plots"
    names = write_study_plots(report, studies, plots)
    remove_stale_plots(plots, names)
    text, published = canonical_json(report, "report")
    written = write_texts(out, {"report.json": text, "README.md": study_readme(published)})
    return written + [plots / name for name in names]
