"""The study report's answer sections: the verdicts, the joint law with its compute-optimal split, the planted floor.

Rendered from the records as read back from report.json (:mod:`.study`). A joint fit that is not a
law is listed with its status and no numbers; an interval withheld as ill-conditioned says so.
"""

from __future__ import annotations

from harness.score.fits.records import NO_INTERVAL_WORDS, Interval, JointSummary, NoInterval
from harness.score.render.document import Section, Table, ends, num
from harness.score.study.records import Estimate, PlantedFloor, StudyGroup, StudyJoint

PARAMS_WORDS = {"total": "total parameters", "embedding": "embedding parameters", "dense": "dense parameters"}


def _with_ci(value: float, ci: Interval | None, why: NoInterval | None, digits: int = 4) -> str:
    text = f"{value:.{digits}g}"
    if ci is not None:
        return f"{text} {ends(ci.lo, ci.hi)}"
    return f"{text} ({NO_INTERVAL_WORDS[why]})" if why == "ill_conditioned" else text


def estimate_text(found: Estimate | None, digits: int = 4) -> str:
    return "–" if found is None else _with_ci(found.value, found.ci, found.no_interval, digits)


def _parameter(fit: JointSummary, name: str) -> str:
    return _with_ci(getattr(fit, name), getattr(fit, f"{name}_ci"), fit.no_interval.get(name))  # type: ignore[call-overload]


# ---------------------------------------------------------------------------------- verdicts


def verdict_section(group: StudyGroup) -> Section:
    lines = [f"- **{v.question}. {v.asks}** Answer: **{v.answer}**. {v.text}" for v in group.verdicts]
    return Section("Verdicts", level=3, text=[
        "One answer per question, from the intervals below; *undecided* when they do not separate the answers. "
        "A fit that is not a law is never an answer.", "\n".join(lines)])


# ------------------------------------------------------------------------------------- joint


def _joint_row(record: StudyJoint, loss: str) -> list[str]:
    fit = record.fit
    notes = [record.error or ""] if fit is None else [fit.status_note]
    if record.co_varying:
        notes.append(f"also moving: {', '.join(record.co_varying)}")
    if len(record.kinds) > 1:
        notes.append(f"mixes interactions {', '.join(record.kinds)}")
    noise = "–" if record.seed_noise is None else f"{100 * record.seed_noise:.2g}%"
    head = [PARAMS_WORDS[record.params], str(len(record.point_ids))]
    if fit is None or not fit.is_law:
        status = "no fit" if fit is None else fit.status
        return [*head, status, "–", "–", "–", "–", "–", "–", "–", "–", noise, "–", "; ".join(n for n in notes if n)]
    ex = record.extrapolation
    extrapolation = (", ".join(f"{100 * e:+.2f}%" for e in ex.rel_error) if ex is not None
                     else record.extrapolation_note or "not checked")
    return [*head, "law", _parameter(fit, "e"), f"{fit.a:.4g}", _parameter(fit, "alpha"), f"{fit.b:.4g}",
            _parameter(fit, "beta"), estimate_text(record.return_n, 3), estimate_text(record.return_d, 3),
            f"{100 * fit.rms_log_residual:.2g}%", noise, extrapolation, "; ".join(n for n in notes if n)]


def _allocation_tables(joints: list[StudyJoint], loss: str) -> list[Table]:
    split, at = [], []
    for record in joints:
        al = record.allocation
        if al is None:
            continue
        who = PARAMS_WORDS[record.params]
        split.append([who, f"k = {al.flops.k:.4g}, p = {al.flops.p:.3g} ({100 * al.flops.max_rel_residual:.2g}%)",
                      estimate_text(al.a, 3), estimate_text(al.b, 3), estimate_text(al.a_plus_b, 3)])
        at += [[who, f"{o.multiple:g}x", f"{o.compute:.3g}", f"{o.n_opt:.3g}", f"{o.d_opt:.3g}",
                estimate_text(o.loss)] for o in al.at]
    if not split:
        return []
    return [Table(["N", "C = k N^p D (max residual)", "a: N_opt ~ C^a [95% CI]", "b: D_opt ~ C^b [95% CI]",
                   "a + b [95% CI]"], split, "compute-optimal split from the joint law"),
            Table(["N", "compute", "C (FLOPs)", "N_opt", "D_opt", f"predicted {loss} [95% CI]"], at,
                  "the compute-optimal model at multiples of the largest compute measured")]


def _isoflop_text(record: StudyJoint) -> tuple[str, Table | None]:
    iso = record.isoflop
    if iso is None:
        return "", None
    if iso.error is not None:
        return f"IsoFLOP frontier (Chinchilla's approach 2, no law assumed): none: {iso.error}.", None
    rows = [[f"{b.compute:.3g}", str(len(b.point_ids)), num(b.n_opt, 3), num(b.d_opt, 3), b.note]
            for b in iso.buckets]
    text = (f"IsoFLOP frontier (Chinchilla's approach 2, no law assumed: a parabola of the loss in log N and in log D "
            f"per compute bucket): a = {estimate_text(iso.a, 3)}, b = {estimate_text(iso.b, 3)}, a + b = "
            f"{estimate_text(iso.a_plus_b, 3)}.")
    return text, Table(["compute bucket C", "points", "N_opt", "D_opt", "note"], rows, "IsoFLOP buckets")


def joint_section(group: StudyGroup) -> Section:
    loss = "NE" if group.loss_definition == "ne" else group.loss_definition
    text = [group.joint_note]
    tables = []
    if group.joint:
        text.append(f"Fit: {loss} = E + A/N^alpha + B/D^beta (Chinchilla's approach 3: Huber loss on log {loss}, "
                    "L-BFGS-B), one fit per meaning of N; 95% intervals from resampling the grid's points, each "
                    "the mean of its runs. Returns: the law's mean drop per 10x of N and of D over the grid's ranges "
                    "(as a curve along one axis measures it). Seed noise: the pooled relative spread of one run "
                    "about its point's mean, to compare with the fit's rms residual (log). Extrapolation: refit "
                    "without the largest 20% of N x D, predict them.")
        tables.append(Table(["N", "points", "status", "E [95% CI]", "A", "alpha [95% CI]", "B", "beta [95% CI]",
                             f"{loss} drop per 10x N", f"{loss} drop per 10x D", "rms residual", "seed noise",
                             "extrapolation (held out: rel. error)", "notes"],
                            [_joint_row(r, loss) for r in group.joint], "joint law per meaning of N"))
        tables += _allocation_tables(group.joint, loss)
        for record in group.joint:
            if record.allocation is None and record.fit is not None and record.allocation_note:
                text.append(f"{PARAMS_WORDS[record.params]}: {record.allocation_note}.")
        total = next((r for r in group.joint if r.params == "total"), None)
        if total is not None:
            iso_text, iso_table = _isoflop_text(total)
            if iso_text:
                text.append(iso_text)
            if iso_table is not None:
                tables.append(iso_table)
    figures = [(group.joint_plot, "the grid and the joint law; compute-optimal N and loss against compute")] \
        if group.joint_plot else []
    return Section("Joint law L(N, D) and the compute-optimal split", level=3, text=text, tables=tables,
                   figures=figures)


# ------------------------------------------------------------------------------------- floor


def floor_section(floor: PlantedFloor, loss: str) -> Section:
    rows = []
    for step in floor.steps:
        if step.c is None or step.status is None:
            rows.append([str(step.n_distinct), f"{step.x_max:.3g}", f"{step.decades:.3g}", "no fit", "–",
                         step.error or ""])
            continue
        c = _with_ci(step.c, step.c_ci, step.no_interval) if step.status == "ok" else "–"
        gap = f"{100 * step.gap:+.3g}%" if step.status == "ok" and step.gap is not None else "–"
        rows.append([str(step.n_distinct), f"{step.x_max:.3g}", f"{step.decades:.3g}", c, gap,
                     "" if step.status == "ok" else f"not a law ({step.status})"])
    tables = [Table(["sizes", "largest x", "decades", "c [95% CI]", "(c − Bayes) / Bayes", "note"], rows,
                    f"the data curve refitted on growing prefixes of its range ({floor.curve})")] if rows else []
    figures = [(floor.plot, f"reducible {loss} against training samples; the fitted floor against the range")] \
        if floor.plot else []
    return Section("Planted floor", level=3, text=[floor.text], tables=tables, figures=figures)
