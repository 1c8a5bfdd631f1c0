"""The study's verdicts: one plain-language answer per question, "undecided" when the intervals do not separate.

* **Q1** data or parameters: the data curve's return per decade against the total-parameter
  frontier's (the best model of each size, whichever component grew; the best component curve when
  that has no interval), each with its bootstrap interval; and, on an N x D grid, the joint law's
  mean returns per 10x of D and of N over the grid's ranges. Decided when the intervals of a pair do not
  overlap and the two kinds of evidence do not disagree.
* **Q2** which component: the returns per decade of the embedding, bottom-MLP, interaction (the
  best kind with parameters of its own; dot has none) and top-MLP curves. Decided when the leader's
  interval lies above every other measured component's (a component whose loss does not fall with its
  size counts as a return of 0); a component with a fit that is no law, or with no interval, leaves it
  undecided; a component not swept is named as such.
* **Q3** the floor: the joint law's E (else the data curve's c) against the Bayes loss, within 5%
  (:mod:`harness.score.fits.floor`); without a Bayes loss, decided when the interval's half-width is
  within 5% of the estimate.
* **Q4** the split: a and b of N_opt ~ C^a, D_opt ~ C^b from the joint law, decided when both have
  intervals narrower than 0.3 and the IsoFLOP frontier (where the grid supports one) does not
  contradict it.

A fit that is not a law never enters a verdict: it is named with its status instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.score.fits.floor import FLOOR_TOLERANCE
from harness.score.fits.records import Interval
from harness.score.render.document import ends
from harness.score.study.records import AxisFinding, Estimate, StudyGroup, StudyJoint, Verdict
from harness.score.study.summary import AXIS_TITLES

UNDECIDED = "undecided"
MAX_SPLIT_WIDTH = 0.3  # an exponent of the split known no better than this decides nothing
COMPONENTS = ("embedding", "bottom_mlp", "interaction", "top_mlp")
COMPONENT_WORDS = {"embedding": "embedding", "bottom_mlp": "bottom MLP", "interaction": "interaction",
                   "top_mlp": "top MLP"}
QUESTIONS = {
    "Q1": "Does quality scale better with data or with parameters?",
    "Q2": "Through which component (embedding, bottom MLP, interaction, top MLP) does parameter scaling pay most?",
    "Q3": "Where is the floor?",
    "Q4": "How should compute be split between parameters and data?",
}


def _num(value: float, ci: Interval | None, digits: int = 3) -> str:
    return f"{value:.{digits}g}" + ("" if ci is None else f" {ends(ci.lo, ci.hi)}")


def _est(value: Estimate, digits: int = 3) -> str:
    return _num(value.value, value.ci, digits) + ("" if value.ci else " (no interval)")


def _order(a: Interval | None, b: Interval | None) -> int | None:
    """+1: a above b; -1: below; 0: the intervals overlap; None: one of them has none."""
    if a is None or b is None:
        return None
    return 1 if a.lo > b.hi else -1 if a.hi < b.lo else 0


def _verdict(question: str, answer: str, text: str) -> Verdict:
    return Verdict(question=question, asks=QUESTIONS[question], answer=answer, decided=answer != UNDECIDED,  # type: ignore[arg-type]
                   text=text)


def _return(f: AxisFinding) -> str:
    what = AXIS_TITLES[f.axis] + (f" ({f.family})" if f.family else "")
    return f"{what} {_num(f.fit.return_per_decade, f.return_ci)} per 10x"  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------- Q1


def _curves_q1(group: StudyGroup) -> tuple[str | None, str]:
    """(answer or None, the evidence in words) from the per-axis curves."""
    data = next((f for f in group.ranking if f.axis == "data" and f.fit is not None), None)
    laws = [f for f in group.ranking if f.fit is not None and f.axis not in ("data", "compute")]
    params = next((f for f in laws if f.axis == "params" and f.return_ci is not None), None)
    if params is None and laws:
        params = max(laws, key=lambda f: (f.return_ci is not None, f.fit.return_per_decade))  # type: ignore[union-attr]
    if data is None or params is None:
        return None, f"no {'data' if data is None else 'parameter'} curve is a law: the curves cannot compare them."
    order = _order(data.return_ci, params.return_ci)
    evidence = f"the curves: {_return(data)} vs {_return(params)}"
    if order is None:
        return None, evidence + " (one has no interval: not separated)"
    if order == 0:
        return None, evidence + " (the intervals overlap)"
    return ("data" if order > 0 else "parameters"), evidence


def _joint_q1(joint: StudyJoint | None) -> tuple[str | None, str]:
    if joint is None or joint.fit is None or not joint.fit.is_law or joint.return_d is None:
        return None, ""
    n_lo, n_hi, d_lo, d_hi = joint.ranges  # type: ignore[misc]
    evidence = (f"the joint law over the grid (N {n_lo:.3g} to {n_hi:.3g}, D {d_lo:.3g} to {d_hi:.3g}): 10x D buys "
                f"{_est(joint.return_d)}, 10x N {_est(joint.return_n)} (beta = "  # type: ignore[arg-type]
                f"{_num(joint.fit.beta, joint.fit.beta_ci)}, alpha = {_num(joint.fit.alpha, joint.fit.alpha_ci)})")
    order = _order(joint.return_d.ci, joint.return_n.ci)  # type: ignore[union-attr]
    if order is None or order == 0:
        return None, evidence + (" (not separated)" if order is None else " (the intervals overlap)")
    return ("data" if order > 0 else "parameters"), evidence


def _q1(group: StudyGroup, joint: StudyJoint | None) -> Verdict:
    found = [_curves_q1(group), _joint_q1(joint)]
    answers = {answer for answer, _ in found if answer is not None}
    evidence = "; ".join(text for _, text in found if text)
    if len(answers) == 1:
        answer = answers.pop()
        words = ("Data: 10x the training samples buys more quality than 10x the parameters"
                 if answer == "data" else "Parameters: 10x the parameters buys more quality than 10x the data")
        return _verdict("Q1", answer, f"{words} ({evidence}).")
    if len(answers) > 1:
        return _verdict("Q1", UNDECIDED, f"Undecided: the curves and the joint law disagree ({evidence}).")
    if not any(text.startswith(("the curves", "the joint")) for _, text in found):
        return _verdict("Q1", UNDECIDED, f"Undecided: {evidence}")
    return _verdict("Q1", UNDECIDED, f"Undecided: the intervals do not separate the answers ({evidence}).")


# ---------------------------------------------------------------------------------- Q2


def _component(group: StudyGroup, name: str) -> tuple[str, AxisFinding | None]:
    """('law' | 'flat' | 'no_law' | 'not_swept', the finding)."""
    findings = [f for f in group.ranking if f.axis == name and not (name == "interaction" and f.family == "dot")]
    laws = [f for f in findings if f.fit is not None]
    if laws:
        return "law", max(laws, key=lambda f: f.fit.return_per_decade)  # type: ignore[union-attr]
    if not findings:
        return "not_swept", None
    flat = [f for f in findings if f.error and "does not fall" in f.error]
    return ("flat", flat[0]) if len(flat) == len(findings) else ("no_law", findings[0])


def _q2(group: StudyGroup) -> Verdict:
    found = {name: _component(group, name) for name in COMPONENTS}
    laws = {n: f for n, (kind, f) in found.items() if kind == "law"}
    words = []
    for name, (kind, finding) in found.items():
        label = COMPONENT_WORDS[name]
        if kind == "law":
            family = f", {finding.family}" if finding.family else ""  # type: ignore[union-attr]
            confound = f", confounded by {', '.join(finding.confounded)}" if finding.confounded else ""  # type: ignore[union-attr]
            words.append(f"{label}{family} {_num(finding.fit.return_per_decade, finding.return_ci)}{confound}")  # type: ignore[union-attr]
        else:
            words.append(f"{label}: " + {"flat": "the loss does not fall", "no_law": "no fit that is a law",
                                         "not_swept": "not swept"}[kind])
    evidence = "NE drop per 10x of the component's parameters: " + "; ".join(words)
    not_swept = [COMPONENT_WORDS[n] for n, (kind, _) in found.items() if kind == "not_swept"]
    if not laws:
        return _verdict("Q2", UNDECIDED, f"Undecided: no component curve is a law ({evidence}).")
    leader_name, leader = max(laws.items(), key=lambda kv: kv[1].fit.return_per_decade)  # type: ignore[union-attr]
    blockers = []
    for name, (kind, finding) in found.items():
        if name == leader_name or kind == "not_swept":
            continue
        if kind == "no_law" or leader.return_ci is None:
            blockers.append(COMPONENT_WORDS[name])
        elif kind == "flat":
            if leader.return_ci.lo <= 0:
                blockers.append(COMPONENT_WORDS[name])
        elif _order(leader.return_ci, finding.return_ci) != 1:  # type: ignore[union-attr]
            blockers.append(COMPONENT_WORDS[name])
    if blockers or len(found) - len(not_swept) < 2:
        leading = COMPONENT_WORDS[leader_name]
        if len(found) - len(not_swept) < 2:
            why = "fewer than two components were measured"
        elif leader.return_ci is None:
            why = f"the component with the largest return, {leading}, has no interval"
        else:
            why = f"the intervals do not separate {leading} from {', '.join(blockers)}"
        return _verdict("Q2", UNDECIDED, f"Undecided: {why} ({evidence}).")
    answer = COMPONENT_WORDS[leader_name] + (f" (with {', '.join(leader.confounded)} moving along)"
                                             if leader.confounded else "")
    scope = "among the components measured" if not_swept else "of the four components"
    return _verdict("Q2", answer, f"{answer[0].upper() + answer[1:]} pays most {scope} ({evidence}).")


# ---------------------------------------------------------------------------------- Q3


def _floor_source(group: StudyGroup, joint: StudyJoint | None) -> tuple[str, float, Interval | None] | None:
    if joint is not None and joint.fit is not None and joint.fit.is_law:
        return "the joint law's E", joint.fit.e, joint.fit.e_ci
    data = next((f for f in group.ranking if f.axis == "data" and f.fit is not None), None)
    if data is None:
        return None
    return "the data curve's c", data.fit.c, data.fit.c_ci  # type: ignore[union-attr]


def _q3(group: StudyGroup, joint: StudyJoint | None, loss: str) -> Verdict:
    source = _floor_source(group, joint)
    if source is None:
        return _verdict("Q3", UNDECIDED, "Undecided: neither a joint law nor a data curve that is a law.")
    what, value, ci = source
    stated = f"{what} = {_num(value, ci, 4)}"
    bayes, tol = group.bayes_floor, FLOOR_TOLERANCE
    if bayes is None:
        if ci is not None and (ci.hi - ci.lo) / 2 <= tol * value:
            return _verdict("Q3", f"{loss} {value:.4g}", f"The floor is at {stated} (no Bayes {loss} is known).")
        return _verdict("Q3", UNDECIDED, f"Undecided: {stated} is not located within +-{100 * tol:g}% "
                                         f"(no Bayes {loss} is known for this data).")
    against = f"the Bayes {loss} {bayes:.4g}"
    if ci is None:
        return _verdict("Q3", UNDECIDED, f"Undecided: {stated} has no interval to compare with {against}.")
    if bayes * (1 - tol) <= ci.lo and ci.hi <= bayes * (1 + tol):
        return _verdict("Q3", f"at the Bayes {loss}", f"At the Bayes {loss}: {stated} lies within "
                                                      f"{100 * tol:g}% of {against}.")
    if ci.lo > bayes * (1 + tol):
        left = ("the loss no model of this family, trained this way, removes" if what.startswith("the joint")
                else "the floor of that one model size: more parameters may lower it")
        return _verdict("Q3", f"above the Bayes {loss}", f"Above the Bayes {loss}: {stated} lies more than "
                                                         f"{100 * tol:g}% above {against}: {left}.")
    why = ("lies below it, which no floor can: the fit's constant is no floor over this range" if ci.hi < bayes
           else f"holds {against} and values more than {100 * tol:g}% away from it")
    return _verdict("Q3", UNDECIDED, f"Undecided: {stated} {why}.")


# ---------------------------------------------------------------------------------- Q4


def _q4(joint: StudyJoint | None, note: str, loss: str) -> Verdict:
    if joint is None:
        return _verdict("Q4", UNDECIDED, f"Undecided: no joint law to derive the split from. {note}")
    if joint.allocation is None:
        why = (f"no joint fit ({joint.error})" if joint.error else joint.allocation_note or "no allocation")
        return _verdict("Q4", UNDECIDED, f"Undecided: {why}. {note}")
    al = joint.allocation
    p = al.flops.p
    n_max, d_max = joint.ranges[1], joint.ranges[3]  # type: ignore[index]
    predictions = "; ".join(f"at {o.multiple:g}x the largest compute ({o.compute:.3g} FLOPs) N_opt = {o.n_opt:.3g} "
                            f"({o.n_opt / n_max:.2g}x the largest N measured), D_opt = {o.d_opt:.3g} "
                            f"({o.d_opt / d_max:.2g}x the largest D), {loss} {_est(o.loss, 4)}" for o in al.at)
    evidence = (f"N_opt ~ C^a with a = {_est(al.a)}, D_opt ~ C^b with b = {_est(al.b)}, for C = k N^p D with p = "
                f"{p:.3g} (fitted to the recorded FLOPs; a + b = {_est(al.a_plus_b)}, 1 exactly when p = 1); "
                f"{predictions}")
    iso = joint.isoflop
    if iso is not None and iso.a is not None:
        evidence += f"; the IsoFLOP frontier, no law assumed: a = {_est(iso.a)}, b = {_est(iso.b)}"  # type: ignore[arg-type]
    elif iso is not None:
        evidence += f"; no IsoFLOP frontier ({iso.error})"
    widths = [e.ci.hi - e.ci.lo for e in (al.a, al.b) if e.ci is not None]
    if len(widths) < 2 or max(widths) > MAX_SPLIT_WIDTH:
        return _verdict("Q4", UNDECIDED, f"Undecided: the split's exponents are not known to within "
                                         f"{MAX_SPLIT_WIDTH:g} ({evidence}).")
    if iso is not None and iso.a is not None and _order(iso.a.ci, al.a.ci) not in (0, None):
        return _verdict("Q4", UNDECIDED, f"Undecided: the joint law and the IsoFLOP frontier disagree ({evidence}).")
    order = _order(al.a.ci, al.b.ci)
    answer = ("grow parameters faster than data" if order == 1 else "grow data faster than parameters" if order == -1
              else "grow parameters and data at about the same rate")
    return _verdict("Q4", answer, f"{answer[0].upper() + answer[1:]}: {evidence}.")


def verdicts(group: StudyGroup, joints: Sequence[StudyJoint], joint_note: str) -> list[Verdict]:
    """Q1-Q4 for one data set, from its ranking (with return intervals), its joint fits and its Bayes floor."""
    loss = "NE" if group.loss_definition == "ne" else group.loss_definition
    total = next((j for j in joints if j.params == "total"), None)
    return [_q1(group, total), _q2(group), _q3(group, total, loss), _q4(total, joint_note, loss)]
