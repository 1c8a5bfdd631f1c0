"""The leaderboard (`recscale score`) as a document: its sections, and their Markdown (leaderboard.md).

index.html renders the same sections (:mod:`.html`).
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.score.fits.records import WorkloadFits
from harness.score.leaderboard.records import ClosedBoard, Leaderboard, MLPerfRow, OpenBoard, Prediction
from harness.score.render.document import (
    Section,
    Table,
    ends,
    estimate,
    extrapolation,
    law,
    num,
    seconds,
    sections_markdown,
)


def prediction(pred: Prediction | None) -> str:
    if pred is None:
        return "–"
    band = f" {ends(pred.lo, pred.hi)}" if pred.lo is not None and pred.hi is not None else ""
    if pred.no_interval == "ill_conditioned":
        band = " (ill-conditioned: interval not reported)"
    return f"{pred.quality:.4g}{band}"


def _submissions(board: Leaderboard) -> Section:
    rows = [[s.path, s.submitter, s.division, str(s.n_runs), "yes" if s.scored else "no", s.reason]
            for s in board.submissions]
    return Section("Submissions", anchor="submissions",
                   text=["Only submissions that pass `recscale check` are scored (RULES.md SCORE-7)."],
                   tables=[Table(["submission", "submitter", "division", "runs", "scored", "why not"], rows)])


def _closed(board: ClosedBoard) -> Section:
    target = f"{board.metric} {'>=' if board.higher_is_better else '<='} {board.target:g}"
    ranking = [[str(r.rank or "–"), r.system, r.submission, r.stack.accelerator, r.stack.framework,
                r.stack.embedding_backend, r.stack.precision, seconds(r.sweep_time_s),
                f"{r.points_reached} / {r.points_total}", r.note] for r in board.rows]
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
                       "precision", "sweep time (s)", "points reached", "note"], ranking, "ranking"),
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
            prediction(r.at_compute_budget), law(fit), estimate(fit, "b"), estimate(fit, "c"), num(r.bayes_floor),
            extrapolation(fit),
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


def _joint_text(report: WorkloadFits) -> str | None:
    j = report.joint
    if j is None:
        return f"Joint fit: none ({report.joint_error})." if report.joint_error else None
    if not j.is_law:
        return f"Joint fit (Chinchilla approach 3): not a law ({j.status_note})."
    split = ""
    if j.compute_optimal is not None:
        split = (f"; compute-optimal split for C = k N^p D (p = {j.compute_optimal.p:.3g}): "
                 f"N_opt ~ C^{j.compute_optimal.a_n:.3g}, D_opt ~ C^{j.compute_optimal.b_d:.3g}")
    return (f"Joint fit (Chinchilla approach 3): L(N, D) = {j.e:.4g} + {j.a:.4g}/N^{j.alpha:.3g} + "
            f"{j.b:.4g}/D^{j.beta:.3g}{split}.")


def _study(report: WorkloadFits) -> Section:
    rows = []
    for axis in report.axes:
        for i, s in enumerate(axis.slices):
            fit = s.fit
            mark = " (headline)" if i == axis.headline else ""
            rows.append([
                axis.axis, s.slice_label + mark, str(len(s.x)), law(fit), estimate(fit, "b"), estimate(fit, "c"),
                extrapolation(fit), num(fit.return_per_decade, 3) if fit and fit.is_law else "–",
                "; ".join([*(fit.notes if fit else [s.error or ""]),
                           *([f"co-varying: {', '.join(s.co_varying)}"] if s.co_varying else [])]),
            ])
    text = [f"{report.n_runs} runs, {len(report.points)} points; loss = {report.loss_definition}; Bayes floor "
            f"{num(report.bayes_floor)} (the fitted c of a curve should not fall below it)."]
    if (joint := _joint_text(report)) is not None:
        text.append(joint)
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
                      law(fit), estimate(fit, "c") if fit else (r.learning_curve_error or "–"),
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
    if board.workload_fits:
        sections.append(Section("Scaling studies", anchor="studies", text=[
            "Per entry and axis: L = a x^-b + c with 95% bootstrap intervals; extrapolation error: the largest "
            "points predicted by a fit without them; return per decade: mean drop of L per 10x x over the range. "
            "A fit with its exponent on a bound, or whose optimiser did not converge, is not a law: it is listed "
            "with its status, never as a formula."]))
        sections += [_study(r) for r in board.workload_fits]
    if board.mlperf:
        sections.append(_mlperf(board.mlperf))
    sections.append(Section("Rules", anchor="rules", text=list(board.rules)))
    plots = set(board.plots)
    for section in sections:  # a figure is shown only when its plot was written
        section.figures = [(stem, cap) for stem, cap in section.figures if f"plots/{stem}.svg" in plots]
    return sections


def markdown(board: Leaderboard) -> str:
    """The leaderboard as Markdown: the same document as index.html."""
    return sections_markdown(document(board))
