"""The committed leaderboard and study report are what the commands make from the committed results,
on this machine and any other (RULES.md SCORE-8).

`recscale score submissions --out submissions/leaderboard` and `recscale report
submissions/reference-cpu --out submissions/reference-cpu/report` are re-run into a temporary
folder. Their JSON is compared with the committed JSON value by value: the structure exactly (keys,
list lengths and order: rankings, point sets, statuses, every string's words), fitted numbers within
1e-4 relative, interval ends within 2% of their interval's width, numbers printed in sentences to
the last digit shown. The committed Markdown and HTML must be exactly what the committed JSON renders
to, and the plots are redrawn (the same files), not compared by bytes: fonts and rasterisers differ
between machines. A change to the fits, the checker or the records that moves a published number
fails here until the committed outputs are regenerated (README.md, "The scaling study").
Another machine is emulated twice: another BLAS thread count (threadpoolctl), and (slow) numpy's
AVX-512 kernels switched off with OpenBLAS on its Haswell kernels.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from numpy._core import _multiarray_umath

from harness.cli import main
from harness.score.fits import blas
from harness.score.leaderboard.records import Leaderboard
from harness.score.render import plots
from harness.score.render.html import html_page
from harness.score.render.leaderboard import markdown
from harness.score.render.study import study_readme
from harness.score.study.records import StudyReport

REPO = Path(__file__).resolve().parent.parent
SUBMISSIONS = REPO / "submissions"
REFERENCE = SUBMISSIONS / "reference-cpu"
LEADERBOARD = SUBMISSIONS / "leaderboard"
REPORT = REFERENCE / "report"
VALUE_REL = 1e-4  # fitted point estimates (6 significant digits; machines agree to ~1e-8)
VALUE_ABS = 1e-9  # below this a number is zero (e.g. the residual of an exact fit)
INTERVAL_WIDTH = 0.02  # interval ends: their step is at most 1% of the width
NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d*)?(?:e[-+]?\d+)?")


def _printed_unit(text: str) -> float:
    """The value of one unit in the last digit a number was printed with ('0.0531' -> 1e-4, '4e+06' -> 1e6)."""
    mantissa, _, exponent = text.replace(",", "").lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10.0 ** (int(exponent or 0) - decimals)


def _agree_text(made: str, committed: str, where: str) -> None:
    assert NUMBER.split(made) == NUMBER.split(committed), f"{where}: {made!r} != {committed!r}"
    for a, b in zip(NUMBER.findall(made), NUMBER.findall(committed), strict=True):
        tolerance = 1.01 * max(_printed_unit(a), _printed_unit(b))
        assert abs(float(a.replace(",", "")) - float(b.replace(",", ""))) <= tolerance, f"{where}: {a} != {b}"


def _agree_number(made: float, committed: float, where: str, tolerance: float | None = None) -> None:
    allowed = tolerance if tolerance is not None else VALUE_REL * abs(committed) + VALUE_ABS
    assert math.isclose(made, committed, rel_tol=0, abs_tol=allowed), f"{where}: {made} != {committed}"


def assert_agree(made: object, committed: object, where: str = "$") -> None:
    """`made` has `committed`'s structure exactly and its numbers within the tolerances of SCORE-8."""
    if isinstance(committed, dict):
        assert isinstance(made, dict) and sorted(made) == sorted(committed), f"{where}: keys differ"
        interval = None
        if isinstance(committed.get("lo"), float) and isinstance(committed.get("hi"), float):
            scale = max(abs(committed["lo"]), abs(committed["hi"]))
            interval = INTERVAL_WIDTH * (committed["hi"] - committed["lo"]) + 1e-6 * scale + VALUE_ABS
        for key in committed:
            if interval is not None and key in ("lo", "hi"):
                _agree_number(made[key], committed[key], f"{where}.{key}", interval)  # type: ignore[index]
            else:
                assert_agree(made[key], committed[key], f"{where}.{key}")  # type: ignore[index]
    elif isinstance(committed, list):
        assert isinstance(made, list) and len(made) == len(committed), f"{where}: lengths differ"
        for i, (a, b) in enumerate(zip(made, committed, strict=True)):
            assert_agree(a, b, f"{where}[{i}]")
    elif isinstance(committed, str):
        assert isinstance(made, str), where
        _agree_text(made, committed, where)
    elif isinstance(committed, float) or (isinstance(made, float) and isinstance(committed, int)):
        assert isinstance(made, int | float) and not isinstance(made, bool), where
        _agree_number(float(made), float(committed), where)
    else:
        assert made == committed, f"{where}: {made!r} != {committed!r}"


def _plots(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in (folder / "plots").iterdir())


def assert_leaderboard_reproduced(made: Path, *, drawn: bool = True) -> None:
    committed_text = (LEADERBOARD / "leaderboard.json").read_text(encoding="utf-8")
    assert_agree(json.loads((made / "leaderboard.json").read_text(encoding="utf-8")), json.loads(committed_text))
    committed = Leaderboard.model_validate_json(committed_text)
    assert (LEADERBOARD / "leaderboard.md").read_text(encoding="utf-8") == markdown(committed)
    assert (LEADERBOARD / "index.html").read_text(encoding="utf-8") == html_page(committed)
    assert _plots(LEADERBOARD) == sorted(committed.plots)
    if drawn:
        assert _plots(made) == _plots(LEADERBOARD)


def assert_report_reproduced(made: Path, *, drawn: bool = True) -> None:
    committed_text = (REPORT / "report.json").read_text(encoding="utf-8")
    assert_agree(json.loads((made / "report.json").read_text(encoding="utf-8")), json.loads(committed_text))
    committed = StudyReport.model_validate_json(committed_text)
    assert (REPORT / "README.md").read_text(encoding="utf-8") == study_readme(committed)
    assert _plots(REPORT) == sorted(committed.plots)
    if drawn:
        assert _plots(made) == _plots(REPORT)


def regenerate(out: Path) -> tuple[Path, Path]:
    assert main(["score", str(SUBMISSIONS), "--out", str(out / "leaderboard")]) == 0
    assert main(["report", str(REFERENCE), "--out", str(out / "report")]) == 0
    return out / "leaderboard", out / "report"


needs_outputs = pytest.mark.skipif(not (LEADERBOARD.is_dir() and REPORT.is_dir()),
                                   reason="no committed leaderboard or report")


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="no committed reference submission")
def test_reference_submission_checks_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(REFERENCE)]) == 0
    assert "PASS" in capsys.readouterr().out


@needs_outputs
def test_score_and_report_reproduce_the_committed_outputs(tmp_path: Path) -> None:
    leaderboard, report = regenerate(tmp_path)
    assert_leaderboard_reproduced(leaderboard)
    assert_report_reproduced(report)


@needs_outputs
def test_outputs_agree_under_another_blas_thread_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # another BLAS thread count splits and orders the sums differently: what another machine does
    monkeypatch.setattr(blas, "FIT_THREADS", 2)
    # the figures are laid out but not rasterised (most of the time of a run): the test above draws them
    monkeypatch.setattr(plots, "save", lambda fig, out, stem: (plt.close(fig), [f"{stem}.svg", f"{stem}.png"])[1])
    leaderboard, report = regenerate(tmp_path)
    assert_leaderboard_reproduced(leaderboard, drawn=False)
    assert_report_reproduced(report, drawn=False)


# Run in a fresh interpreter: numpy reads NPY_DISABLE_CPU_FEATURES and OpenBLAS its core type at load.
OTHER_CPU_SCRIPT = """
import sys
import matplotlib.pyplot as plt
from harness.cli import main
from harness.score.render import plots
plots.save = lambda fig, out, stem: (plt.close(fig), [f"{stem}.svg", f"{stem}.png"])[1]
out = sys.argv[1]
sys.exit(main(["score", "submissions", "--out", out + "/leaderboard"])
         or main(["report", "submissions/reference-cpu", "--out", out + "/report"]))
"""


def _wide_vector_features() -> list[str]:
    """numpy's dispatched CPU features beyond AVX2 (AVX-512 and x86-64-v4) that this CPU has."""
    features, dispatched = _multiarray_umath.__cpu_features__, _multiarray_umath.__cpu_dispatch__
    wide = [name for name, present in features.items() if present and name.startswith(("AVX512", "X86_V4"))]
    return wide if set(wide) & set(dispatched) else []


@pytest.mark.slow
@needs_outputs
@pytest.mark.skipif(not _wide_vector_features(), reason="no AVX-512 here: nothing to switch off")
def test_outputs_agree_on_an_emulated_older_cpu(tmp_path: Path) -> None:
    # numpy's AVX-512 kernels off (its exp/log/sums then round differently) and OpenBLAS's Haswell kernels
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(_wide_vector_features()),
           "OPENBLAS_CORETYPE": "Haswell", "PYTHONPATH": path}
    done = subprocess.run([sys.executable, "-c", OTHER_CPU_SCRIPT, str(tmp_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_leaderboard_reproduced(tmp_path / "leaderboard", drawn=False)
    assert_report_reproduced(tmp_path / "report", drawn=False)


def test_the_comparison_tolerates_only_what_rules_md_allows() -> None:
    fit = {"b": 0.0761391, "b_ci": {"lo": 0.0246, "hi": 0.39}, "status": "ok", "n": 7}
    assert_agree({**fit, "b": 0.0761392, "b_ci": {"lo": 0.0247, "hi": 0.391}}, fit)  # within 1e-4 and 2% width
    for wrong in ({**fit, "b": 0.0762}, {**fit, "b_ci": {"lo": 0.0246, "hi": 0.40}}, {**fit, "status": "at_bound"},
                  {**fit, "n": 8}, {k: v for k, v in fit.items() if k != "n"}):
        with pytest.raises(AssertionError):
            assert_agree(wrong, fit)
    assert_agree(["b = 0.0531 over 1.8 decades"], ["b = 0.0532 over 1.8 decades"])  # one unit of the last digit
    with pytest.raises(AssertionError):
        assert_agree(["b = 0.0531 over 1.8 decades"], ["b = 0.0534 over 1.8 decades"])
    with pytest.raises(AssertionError):
        assert_agree(["data scales better"], ["data scales worse"])
