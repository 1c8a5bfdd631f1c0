"""The leaderboard as a document (sections of text, tables and figures), and its Markdown.

Markdown (this module) and HTML (:mod:`harness.score.html`) render the same document, so the two
always show the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.score.models import (
    ClosedBoard,
    Interval,
    Leaderboard,
    MLPerfRow,
    OpenBoard,
    PowerLawSummary,
    Prediction,
    WorkloadReport,
)


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


def ci(interval: Interval | None, digits: int = 4) -> str:
    return "" if interval is None else f" [{interval.lo:.{digits}g}, {interval.hi:.{digits}g}]"


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}" if value >= 10 else f"{value:.3g}"


def prediction(pred: Prediction | None) -> str:
    if pred is None:
        return "–"
    band = f" [{pred.lo:.4g}, {pred.hi:.4g}]" if pred.lo is not None and pred.hi is not None else ""
    return f"{pred.quality:.4g}{band}"


def extrapolation(fit: PowerLawSummary | None) -> str:
    if fit is None:
        return "–"
    if fit.extrapolation is None:
        return "not checked"
    return f"{100 * fit.extrapolation.max_abs_rel_error:.2g}%"


def law(fit: PowerLawSummary | None) -> str:
    return "–" if fit is None else f"{fit.a:.4g} x^-{fit.b:.4g} + {fit.c:.4g}"


# ---------------------------------------------------------------------------------- sections


def _submissions(board: Leaderboard) -> Section:
    rows = [[s.path, s.submitter, s.division, str(s.n_runs), "yes" if s.scored else "no", s.reason]
            for s in board.submissions]
    return Section("Submissions", anchor="submissions",
                   text=["Only submissions that pass `recscale check` are scored (RULES.md SCORE-7)."],
                   tables=[Table(["submission", "submitter", "division", "runs", "scored", "why not"], rows)])


def _closed(board: ClosedBoard) -> Section:
    target = f"{board.metric} {'>=' if board.higher_is_better else '<='} {board.target:g}"
    ranking = [[str(r.rank or "–"), r.system, r.submission, r.stack.accelerator, r.stack.framework,
                r.stack.embedding_backend, seconds(r.sweep_time_s), f"{r.points_reached} / {r.points_total}",
                r.note] for r in board.rows]
    header = ["point", *[f"{r.system} ({r.submission})" for r in board.rows]]
    per_point = []
    for i, point in enumerate(board.points):
        cells = [point]
        for row in board.rows:
            p = row.per_point[i]
            ttt = seconds(p.time_to_target_s) if p.time_to_target_s is not None else "not reached"
            cells.append(f"{ttt} ({p.n_success}/{p.n_runs} runs; pass {seconds(p.pass_time_s)})")
        per_point.append(cells)
    return Section(
        f"Closed division: {board.workload_id} v{board.workload_version}", anchor=f"closed-{board.workload_id}",
        text=[f"Target {target}. Systems ranked by the time to complete the sweep (SCORE-2); time to target per "
              "point aggregated over runs as MLPerf does (SCORE-1)."],
        tables=[Table(["rank", "system", "submission", "accelerator", "framework", "embedding backend",
                       "sweep time (s)", "points reached", "note"], ranking, "ranking"),
                Table(header, per_point, "time to target per point (s)")],
        figures=[(f"{board.workload_id}-systems", "Systems compared: sweep time and time to target per point")],
    )


def _open(board: OpenBoard) -> Section:
    metric = board.metric
    rows = []
    for r in board.rows:
        fit = r.data_fit
        rows.append([
            str(r.rank or "–"), r.submission, r.system, r.division, r.model, prediction(r.at_data_budget),
            prediction(r.at_compute_budget), law(fit), (num(fit.b) + ci(fit.b_ci, 3)) if fit else "–",
            (num(fit.c) + ci(fit.c_ci, 3)) if fit else "–", num(r.bayes_floor), extrapolation(fit),
            r.note or (r.data_error or ""),
        ])
    return Section(
        f"Open division: {board.workload_id} v{board.workload_version}", anchor=f"open-{board.workload_id}",
        text=[f"Each entry's data-scaling curve ({board.loss_definition} = a x^-b + c over training samples, at its "
              f"largest model) predicts the {metric} at a data budget of {board.data_budget:.4g} samples; ranked "
              f"by that (SCORE-4). The compute curve (its compute-efficient frontier) predicts the {metric} at "
              f"{board.compute_budget:.4g} training FLOPs. Budgets: {board.budget_rule}. Brackets: "
              "95% bootstrap intervals."],
        tables=[Table(["rank", "submission", "system", "division", "model", f"{metric} at data budget",
                       f"{metric} at compute budget", f"curve ({board.loss_definition})", "b", "c", "Bayes floor",
                       "extrapolation error", "note"], rows)],
        figures=[(f"{board.workload_id}-data", "Quality vs training samples"),
                 (f"{board.workload_id}-compute", "Quality vs training FLOPs"),
                 (f"{board.workload_id}-params", "Quality vs parameters")],
    )


def _study(report: WorkloadReport) -> Section:
    rows = []
    for axis in report.axes:
        for i, s in enumerate(axis.slices):
            fit = s.fit
            mark = " (headline)" if i == axis.headline else ""
            rows.append([
                axis.axis, s.slice_label + mark, str(len(s.x)), law(fit),
                (num(fit.b) + ci(fit.b_ci, 3)) if fit else "–", (num(fit.c) + ci(fit.c_ci, 3)) if fit else "–",
                extrapolation(fit), num(fit.return_per_decade, 3) if fit else "–",
                "; ".join([*(fit.notes if fit else [s.error or ""]),
                           *([f"co-varying: {', '.join(s.co_varying)}"] if s.co_varying else [])]),
            ])
    text = [f"{report.n_runs} runs, {len(report.points)} points; loss = {report.loss_definition}; Bayes floor "
            f"{num(report.bayes_floor)} (the fitted c of a curve should not fall below it)."]
    if report.joint is not None:
        j = report.joint
        split = ""
        if j.compute_optimal is not None:
            split = (f"; compute-optimal split for C ~ k N D: N_opt ~ C^{j.compute_optimal.a_n:.3g}, "
                     f"D_opt ~ C^{j.compute_optimal.b_d:.3g}")
        text.append(f"Joint fit (Chinchilla approach 3): L(N, D) = {j.e:.4g} + {j.a:.4g}/N^{j.alpha:.3g} + "
                    f"{j.b:.4g}/D^{j.beta:.3g}{split}.")
    elif report.joint_error:
        text.append(f"Joint fit: none ({report.joint_error}).")
    return Section(f"Scaling study: {report.label}, {report.workload_id}", level=3, text=text, tables=[Table(
        ["axis", "curve", "points", "fit", "b [95% CI]", "c [95% CI]", "extrapolation error",
         "return per decade", "notes"], rows)])


def _mlperf(rows: Sequence[MLPerfRow]) -> Section:
    table = []
    for r in rows:
        fit = r.learning_curve
        score = num(r.score_minutes, 5) if r.score_minutes is not None else f"none: {r.no_score_reason}"
        table.append([str(r.rank or "–"), r.round, r.submitter, r.system_name, r.stack.accelerator,
                      r.stack.framework, f"{r.n_runs} ({r.n_converged})", score, num(r.scaling_factor, 6),
                      law(fit), (num(fit.c) + ci(fit.c_ci, 3)) if fit else (r.learning_curve_error or "–"),
                      extrapolation(fit)])
    return Section(
        "MLPerf Training dlrm_dcnv2", anchor="mlperf",
        text=["Score: as MLPerf's result summarizer computes it (SCORE-6): runs that fail mlperf-logging's "
              "compliance check are dropped, the others' minutes from run_start to run_stop are averaged "
              "olympic-style and multiplied by the scaling factor of the package's scaling.json. Learning "
              "curve: 1 - AUC against samples seen (epoch_num x train_samples), all runs pooled."],
        tables=[Table(["rank", "round", "submitter", "system", "accelerator", "framework", "runs (counted)",
                       "score (min)", "scaling factor", "learning curve (1 - AUC)", "c [95% CI]",
                       "extrapolation error"], table)],
        figures=[("mlperf-scores", "MLPerf scores and runs"), ("mlperf-learning-curves", "MLPerf learning curves")],
    )


def document(board: Leaderboard) -> list[Section]:
    intro = Section("RecScale leaderboard", level=1, text=[
        f"recscale {board.recscale_version}; fits with {board.settings.n_boot} bootstrap resamples "
        f"(seed {board.settings.seed}), {100 * board.settings.level:g}% intervals."])
    sections = [intro]
    if board.submissions:
        sections.append(_submissions(board))
    sections += [_closed(b) for b in board.closed]
    sections += [_open(b) for b in board.open]
    if board.reports:
        sections.append(Section("Scaling studies", anchor="studies", text=[
            "Per entry and axis: L = a x^-b + c with 95% bootstrap intervals; extrapolation error: the largest "
            "points predicted by a fit without them; return per decade: mean drop of L per 10x x over the range."]))
        sections += [_study(r) for r in board.reports]
    if board.mlperf:
        sections.append(_mlperf(board.mlperf))
    sections.append(Section("Rules", anchor="rules", text=list(board.settings.rules)))
    plots = set(board.plots)
    for section in sections:  # a figure is shown only when its plot was written
        section.figures = [(stem, cap) for stem, cap in section.figures if f"plots/{stem}.svg" in plots]
    return sections


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


def markdown(board: Leaderboard) -> str:
    """The leaderboard as Markdown: the same document as index.html."""
    return sections_markdown(document(board))


def study_markdown(reports: Sequence[WorkloadReport]) -> str:
    """Scaling studies (:func:`harness.score.report.workload_report`) as Markdown, for `recscale report`."""
    return sections_markdown([_study(report) for report in reports])
