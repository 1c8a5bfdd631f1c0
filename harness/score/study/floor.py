"""The planted-floor line of synthetic data: the data curve's fitted floor vs the Bayes NE, as the range grows.

The curve refitted is the data axis's quoted one (the largest model whose fit is a law), or the data
curve with the most sizes when none is a law. Its floor is that model's floor: it reaches the
Bayes loss only when the model can represent the planted teacher, which is why a curve levelling off
above the floor (``above``) is a finding about the model, not a failure of the fit
(:mod:`harness.score.fits.floor`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.score.fits.floor import FLOOR_TOLERANCE, FloorStep, FloorVerdict, floor_by_range, floor_verdict
from harness.score.fits.power_law import PowerLawFit
from harness.score.fits.records import FitSettings
from harness.score.fits.summary import rounded_interval, significant
from harness.score.render.document import ends
from harness.score.study.records import FloorStepRow, PlantedFloor, StudyAxis, StudyCurve


def _row(step: FloorStep, bayes: float) -> FloorStepRow:
    fit = step.fit
    found = None if fit is None else fit.interval_or_why("c")
    return FloorStepRow(
        n_distinct=step.n_distinct, x_max=step.x_max, decades=significant(step.decades, 3),
        status=None if fit is None else fit.status, c=None if fit is None else significant(fit.c),
        c_ci=rounded_interval(found) if isinstance(found, tuple) else None,
        no_interval=None if fit is None or isinstance(found, tuple) else found,
        gap=None if fit is None else significant((fit.c - bayes) / bayes, 4), error=step.error)


def _c_text(fit: PowerLawFit) -> str:
    found = fit.interval("c")
    return f"c = {fit.c:.4g}" + ("" if found is None else f" {ends(*found)}")


def _why_not(step: FloorStep, bayes: float, loss: str, last_loss: float) -> str:
    fit = step.fit
    if fit is None:
        return f"the curve over the whole range has no fit ({step.error})"
    if fit.status != "ok":
        return f"the fit over the whole range is not a law ({fit.status_note})"
    if fit.interval("c") is None:
        return f"{_c_text(fit)} has no interval ({fit.interval_or_why('c').replace('_', ' ')})"  # type: ignore[union-attr]
    width = 100 * (fit.interval("c")[1] - fit.interval("c")[0]) / bayes  # type: ignore[index]
    return (f"{_c_text(fit)} spans {width:.3g}% of the Bayes {loss} (the test needs it inside +-"
            f"{100 * FLOOR_TOLERANCE:g}%): over the {step.decades:.2g} decades measured the curve is still "
            f"{100 * (last_loss - bayes) / bayes:.3g}% above the Bayes {loss} at its largest point and falls "
            f"{fit.return_per_decade_at_max():.3g} {loss} per 10x there: it bends too little to locate its asymptote")


def _trend(steps: Sequence[FloorStep], bayes: float) -> str:
    """Whether the fitted floor approaches the Bayes loss as the range grows: its distance, and its interval's width."""
    laws = [s for s in steps if s.fit is not None and s.fit.status == "ok" and s.fit.interval("c") is not None]
    if len(laws) < 2:
        return ""
    first, last = laws[0], laws[-1]
    gaps = [100 * (s.fit.c - bayes) / bayes for s in (first, last)]  # type: ignore[union-attr]
    widths = [100 * (s.fit.interval("c")[1] - s.fit.interval("c")[0]) / bayes for s in (first, last)]  # type: ignore[union-attr,index]
    closer, narrower = abs(gaps[1]) < abs(gaps[0]), widths[1] < widths[0]
    verdict = ("it approaches the Bayes loss" if closer and narrower else
               "it does not measurably approach the Bayes loss" + (": its interval does not narrow" if closer else ""))
    return (f" As the range grows from {first.decades:.2g} to {last.decades:.2g} decades, c goes from "
            f"{gaps[0]:+.3g}% to {gaps[1]:+.3g}% of the Bayes loss and its interval's width from {widths[0]:.3g}% to "
            f"{widths[1]:.3g}% of it: {verdict}.")


def _text(verdict: FloorVerdict, steps: Sequence[FloorStep], bayes: float, loss: str, last_loss: float) -> str:
    last = steps[-1]
    fit = last.fit
    head = f"Planted floor (Bayes {loss} {bayes:.4g}): "
    if verdict == "pinned":
        assert fit is not None
        body = (f"the data curve's fitted floor {_c_text(fit)} is within {100 * FLOOR_TOLERANCE:g}% of the Bayes "
                f"{loss} over {last.decades:.2g} decades: the fit recovers the planted floor.")
    elif verdict == "above":
        assert fit is not None
        body = (f"the data curve levels off above it: {_c_text(fit)}, more than {100 * FLOOR_TOLERANCE:g}% above "
                "the Bayes loss with its whole interval. This model, not the data, sets that floor (the joint fit's "
                "E is the floor of model and data together).")
    elif verdict == "below":
        assert fit is not None
        body = (f"the fitted floor {_c_text(fit)} lies more than {100 * FLOOR_TOLERANCE:g}% below the Bayes "
                f"{loss}, which no true floor can: the power law plus constant does not follow the curve's approach "
                "over this range, and the range measured cannot pin it.")
    else:
        body = f"the range measured cannot pin it: {_why_not(last, bayes, loss, last_loss)}."
    return head + body + _trend(steps, bayes)


def data_curve(axis: StudyAxis, quoted: int | None) -> StudyCurve:
    if quoted is not None:
        return axis.curves[quoted]
    return max(axis.curves, key=lambda c: (len(set(c.curve.x)), c.headline))


def planted_floor(axis: StudyAxis | None, quoted: int | None, bayes: float | None, loss: str,
                  settings: FitSettings) -> tuple[PlantedFloor | None, list[FloorStep]]:
    """The planted-floor record of a data set (None without a Bayes floor or a data axis), and its refits."""
    if bayes is None or axis is None or not axis.curves:
        return None, []
    curve = data_curve(axis, quoted)
    label = f"{', '.join(curve.workloads)}, {curve.curve.slice_label}"
    xs, ys = curve.curve.x[:len(curve.curve.loss)], curve.curve.loss
    steps = floor_by_range(xs, ys, settings, what="training samples") if len(set(xs)) >= 3 else []
    if not steps:
        text = (f"Planted floor (Bayes {loss} {bayes:.4g}): the range measured cannot pin it: the data curve has "
                f"{len(set(xs))} size(s), and a floor needs a fit of at least 3.")
        return PlantedFloor(curve=label, bayes=bayes, tolerance=FLOOR_TOLERANCE, steps=[], verdict="cannot_pin",
                            text=text, plot=None), []
    verdict = floor_verdict(steps[-1].fit, bayes)
    largest = max(xs)
    last_loss = float(np.mean([y for x, y in zip(xs, ys, strict=True) if x == largest]))
    return PlantedFloor(curve=label, bayes=bayes, tolerance=FLOOR_TOLERANCE, steps=[_row(s, bayes) for s in steps],
                        verdict=verdict, text=_text(verdict, steps, bayes, loss, last_loss), plot=None), steps
