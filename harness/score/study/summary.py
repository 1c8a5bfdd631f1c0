"""The study's answer in words: which curve each axis quotes, the ranking, and the generated summary.

One curve is quoted per axis (and interaction kind): the best supported one -- fitted, a law (converged,
no parameter on a bound), with no other
component moving along it, with intervals, with the most distinct x values, the headline slice
(largest other axis), the widest range -- so a curve that is confounded or exactly determined is
quoted only when nothing better was measured, and then the summary says so.
Returns per decade are the mean drop of the fitted loss per 10x of x over the observed range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from harness.score.fits.records import NO_INTERVAL_WORDS, Interval
from harness.score.render.document import ci, interval_text
from harness.score.study.records import AxisFinding, StudyAxis, StudyCurve, StudyGroup

PARAMETER_AXES = ("params", "embedding", "bottom_mlp", "top_mlp", "interaction")
AXIS_TITLES = {
    "data": "training samples", "params": "total parameters (best model of each size)",
    "embedding": "embedding parameters", "bottom_mlp": "bottom-MLP parameters", "top_mlp": "top-MLP parameters",
    "interaction": "dense parameters", "compute": "training FLOPs (compute-efficient frontier)",
}
ALL_AXES = ("data", "params", "embedding", "bottom_mlp", "top_mlp", "interaction", "compute")


def _support(index: int, curve: StudyCurve) -> tuple:
    """Sort key: how well a curve supports a quoted number (larger is better; earlier index wins ties)."""
    fit = curve.curve.fit
    if fit is None or not fit.is_law:
        return (False, False, False, len(set(curve.curve.x)), False, 0.0, -index)
    span = math.log10(fit.x_max / fit.x_min)
    return (True, not curve.curve.co_varying, fit.b_ci is not None, fit.n_distinct, curve.headline, span, -index)


def finding_label(axis: StudyAxis, curve: StudyCurve) -> str:
    family = f" ({curve.family})" if curve.family else ""
    source = ", ".join(curve.workloads) if len(curve.workloads) <= 2 else f"{len(curve.workloads)} workloads"
    return f"{AXIS_TITLES[axis.axis]}{family}: {source}, {curve.curve.slice_label}"


def _finding(axis: StudyAxis, family: str) -> AxisFinding:
    members = [(i, c) for i, c in enumerate(axis.curves) if c.family == family]
    index, best = max(members, key=lambda ic: _support(*ic))
    fit = best.curve.fit
    if fit is None or not fit.is_law:
        why = best.curve.error or (f"the fit is not a law: {fit.status_note}" if fit else "")
        return AxisFinding(axis=axis.axis, family=family, label=finding_label(axis, best), curve=None, fit=None,
                           floor_gap=None, confounded=[], decades=None, error=why or "no points with a final quality")
    return AxisFinding(axis=axis.axis, family=family, label=finding_label(axis, best), curve=index, fit=fit,
                       floor_gap=best.floor_gap, confounded=list(best.curve.co_varying),
                       decades=math.log10(fit.x_max / fit.x_min), error=None)


def rank(group: StudyGroup) -> list[AxisFinding]:
    """One finding per axis and interaction kind; fitted ones by return per decade (largest first), then the rest."""
    findings = [_finding(axis, family) for axis in group.axes
                for family in sorted({c.family for c in axis.curves})]
    fitted = sorted((f for f in findings if f.fit is not None),
                    key=lambda f: (-f.fit.return_per_decade, ALL_AXES.index(f.axis), f.family))  # type: ignore[union-attr]
    return fitted + [f for f in findings if f.fit is None]


# ------------------------------------------------------------------------------------- words


def _what(f: AxisFinding) -> str:
    return AXIS_TITLES[f.axis] + (f" ({f.family})" if f.family else "")


def _return(f: AxisFinding, loss: str) -> str:
    """'0.0521 NE per 10x (b = 0.31 [0.2, 0.4], 1.8 decades)' with the caveats that qualify it."""
    fit = f.fit
    assert fit is not None
    caveats = []
    if f.confounded:
        caveats.append(f"confounded: {', '.join(f.confounded)} also move")
    if fit.b_ci is None:
        why = fit.no_interval.get("b", "not_requested")
        caveats.append(f"no interval: {fit.n_distinct} sizes" if why == "exactly_determined"
                       else NO_INTERVAL_WORDS[why])
    extra = f"; {'; '.join(caveats)}" if caveats else ""
    return (f"{fit.return_per_decade:.3g} {loss} per 10x (b = {fit.b:.3g}{ci(fit.b_ci)}, over {f.decades:.2g} "
            f"decades{extra})")


def _ranking_sentence(fitted: Sequence[AxisFinding], loss: str) -> str:
    first, rest = fitted[0], fitted[1:]
    text = f"Largest return per decade: {_what(first)}, {_return(first, loss)}."
    if rest:
        text += " Then " + "; ".join(f"{_what(f)} {_return(f, loss)}" for f in rest) + "."
    return text


def _data_vs_params(fitted: Sequence[AxisFinding], loss: str) -> str | None:
    data = next((f for f in fitted if f.axis == "data"), None)
    params = [f for f in fitted if f.axis in PARAMETER_AXES]
    if data is None or not params:
        missing = "data" if data is None else "parameters"
        return f"No fitted {missing} curve: data and parameter scaling cannot be compared on this data set."
    clean = [f for f in params if not f.confounded] or params  # a confounded curve only when nothing else was fitted
    best = max(clean, key=lambda f: f.fit.return_per_decade)  # type: ignore[union-attr]
    d, p = data.fit.return_per_decade, best.fit.return_per_decade  # type: ignore[union-attr]
    d_max, p_max = data.fit.return_per_decade_at_max, best.fit.return_per_decade_at_max  # type: ignore[union-attr]
    confounded = f" (That curve is confounded: {', '.join(best.confounded)} also move along it.)"
    local = (confounded if best.confounded else "") + (
        f" At the largest sizes measured the local returns are {d_max:.3g} (data) and {p_max:.3g} ({_what(best)}) "
        f"{loss} per 10x.")
    if d > p:
        ratio = f"{d / p:.2g}x" if p > 0 else "infinitely"
        return (f"Data scales better than parameters: 10x the training samples buys {d:.3g} {loss}, {ratio} more "
                f"than 10x of the best parameter axis ({_what(best)}, {p:.3g}).{local} Over the measured ranges, "
                "parameter scaling is out of steam on this data and data is the path forward, as Ardalani et al. "
                "(2022) found.")
    return (f"A parameter axis returns more than data: 10x of {_what(best)} buys {p:.3g} {loss} against {d:.3g} "
            f"for 10x the training samples.{local} Over the measured ranges, parameter scaling is not out of steam "
            "on this data.")


def _floor_sentence(group: StudyGroup, fitted: Sequence[AxisFinding], loss: str) -> str | None:
    floor = group.bayes_floor
    if floor is None:
        return "No Bayes floor is known for this data (not synthetic): the fitted c cannot be compared with it."
    data = next((f for f in fitted if f.axis == "data"), None)
    parts = [f"The Bayes-optimal {loss} of the eval set is {floor:.4g}."]
    if data is not None and data.fit is not None:
        c, gap, ci = data.fit.c, data.fit.c - floor, data.fit.c_ci
        where = f"{abs(gap):.3g} ({abs(100 * gap / floor):.2g}%) {'below' if gap < 0 else 'above'} it"
        if ci is not None and ci.lo <= floor <= ci.hi:
            where += ", and its interval includes the floor: the measured range does not pin the asymptote down"
        elif gap < 0:
            where += ": c is no credible asymptote here (too little curvature over the measured range)"
        parts.append(f"The data curve's irreducible term c = {c:.4g}{interval_text(data.fit, 'c')} is {where}.")
    others = sorted((f for f in fitted if f.axis != "data" and f.fit is not None), key=lambda f: f.fit.c)  # type: ignore[union-attr]
    above = [f for f in others if f.fit.c >= floor]  # type: ignore[union-attr]
    below = [f for f in others if f.fit.c < floor]  # type: ignore[union-attr]
    if len(above) == 1:
        parts.append(f"The {_what(above[0])} curve levels off at c = {above[0].fit.c:.4g} "  # type: ignore[union-attr]
                     f"({above[0].fit.c - floor:+.3g} from the floor).")  # type: ignore[union-attr]
    elif above:
        lo, hi = above[0], above[-1]
        parts.append(f"The other quoted curves level off at c = {lo.fit.c:.4g} ({_what(lo)}) to {hi.fit.c:.4g} "  # type: ignore[union-attr]
                     f"({_what(hi)}), {lo.fit.c - floor:+.3g} to {hi.fit.c - floor:+.3g} from the floor.")  # type: ignore[union-attr]
    if below:
        parts.append(f"{len(below)} quoted curve(s) put c below the floor ({', '.join(_what(f) for f in below)}): "
                     "nearly log-linear over the measured range, their c is no asymptote.")
    return " ".join(parts)


def _overlap(a: Interval | None, b: Interval | None) -> bool | None:
    if a is None or b is None:
        return None
    return a.lo <= b.hi and b.lo <= a.hi


def _interaction_sentence(group: StudyGroup, loss: str) -> str | None:
    axis = next((a for a in group.axes if a.axis == "interaction"), None)
    if axis is None:
        return None
    kinds = [f for f in group.ranking if f.axis == "interaction"]
    best_level = {c.family: min(c.curve.loss) for c in axis.curves if c.curve.loss}
    levels = ", ".join(f"{kind} {value:.4g}" for kind, value in sorted(best_level.items(), key=lambda kv: kv[1]))
    text = f"Interaction (x = dense parameters): best {loss} reached: {levels}."
    dot = next((f for f in kinds if f.family == "dot" and f.fit is not None), None)
    fitted = [f for f in kinds if f.fit is not None]
    if fitted:
        text += " Slopes: " + "; ".join(f"{f.family} {_return(f, loss)}" for f in fitted) + "."
    if dot is None:
        return text + " No dot curve could be fitted, so the stronger interactions' slopes have no baseline."
    for f in fitted:
        if f is dot:
            continue
        fit, base = f.fit, dot.fit
        assert fit is not None and base is not None
        same = _overlap(fit.b_ci, base.b_ci)
        larger = "larger" if fit.b > base.b else "smaller"
        if same is None:
            verdict = "indicative only: one of the two has no interval"
        elif same:
            verdict = "within the intervals: no change of the scaling exponent shown"
        else:
            verdict = f"a {larger} exponent beyond the intervals"
        text += (f" {f.family} vs dot: b = {fit.b:.3g} vs {base.b:.3g}, {verdict}; per 10x of dense parameters "
                 f"{fit.return_per_decade:.3g} vs {base.return_per_decade:.3g} {loss}.")
    return text


def summarize(group: StudyGroup) -> tuple[list[str], list[str]]:
    """(summary sentences, notes on what the data could not say) for one data set."""
    loss = "NE" if group.loss_definition == "ne" else group.loss_definition
    fitted = [f for f in group.ranking if f.fit is not None]
    notes = []
    present = {a.axis for a in group.axes}
    absent = [AXIS_TITLES[a] for a in ALL_AXES if a not in present and a != "interaction"]
    if absent:
        notes.append("Not swept on this data set: " + ", ".join(absent) + ".")
    for f in group.ranking:
        if f.fit is None:
            notes.append(f"{_what(f)}: no fit ({f.error}).")
    unfitted = sum(c.curve.fit is None for a in group.axes for c in a.curves)
    if unfitted:
        notes.append(f"{unfitted} curve(s) in the tables below have no fit (fewer than 3 distinct x values, or flat).")
    not_laws = sum(c.curve.fit is not None and not c.curve.fit.is_law for a in group.axes for c in a.curves)
    if not_laws:
        notes.append(f"{not_laws} curve(s) in the tables below have a fit that is not a law (an exponent on its bound, "
                     "or an unconverged optimiser): listed with the reason, never quoted.")
    confounded = sum(bool(c.curve.co_varying) for a in group.axes for c in a.curves)
    if confounded:
        notes.append(f"{confounded} curve(s) have other components moving along them (column 'notes'): they measure "
                     "the combined change, not one component.")
    if not fitted:
        return ["No axis of this data set could be fitted (see the caveats): a power law plus constant needs at "
                "least 3 distinct x values on one curve, and a loss that falls with x."], notes
    summary = [_ranking_sentence(fitted, loss)]
    for sentence in (_data_vs_params(fitted, loss), _floor_sentence(group, fitted, loss),
                     _interaction_sentence(group, loss)):
        if sentence:
            summary.append(sentence)
    data = next((f for f in fitted if f.axis == "data"), None)
    if data is not None and data.fit is not None and data.fit.extrapolation is not None:
        ex = data.fit.extrapolation
        errors = ", ".join(f"{100 * e:+.2f}% at {x:.3g}" for x, e in zip(ex.held_x, ex.rel_error, strict=True))
        summary.append(f"Extrapolation check of the data curve: fitted up to {ex.fit_x_max:.3g} samples, it predicts "
                       f"the held-out largest point(s) with {errors}.")
    return summary, notes
