"""CONV-2/CONV-3: the convergence band against reference results (RULES.md gives the test)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from scipy import stats
from submission_factory import make_submission

from harness.check import check_submission
from harness.check.convergence import band, load_references, reference_roots

REPO = Path(__file__).resolve().parent.parent


def test_band_is_the_one_sided_t_test_at_alpha():
    """At the bound, MLPerf's test (ttest_ind_from_stats, equal variances, one-sided) has p = alpha."""
    reference, resolution = [900, 1000, 1100, 950], 10.0
    outcome = band(reference, [1.0, 2.0], resolution)
    sigma = outcome.sigma
    assert sigma == pytest.approx(stats.tstd(reference))
    t, p = stats.ttest_ind_from_stats(outcome.bound, sigma, 2, outcome.reference_mean, sigma, 4, equal_var=True)
    assert t < 0 and p / 2 == pytest.approx(0.05)
    assert outcome.flagged  # a mean of 1.5 samples is far below


def test_band_floors_sigma_at_the_evaluation_spacing():
    outcome = band([1000, 1000, 1000], [900], resolution=100.0)
    assert outcome.sigma == 100.0
    expected = 1000 + stats.t.ppf(0.05, 2) * 100.0 * math.sqrt(1 + 1 / 3)
    assert outcome.bound == pytest.approx(expected)
    assert not outcome.flagged  # one evaluation early is within the band
    assert band([1000, 1000, 1000], [100], resolution=100.0).flagged
    assert not band([1000, 1000], [5000], resolution=1.0).flagged  # slower is never flagged
    with pytest.raises(ValueError, match="reference runs"):
        band([1000], [900], resolution=1.0)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 20-evaluation variant of the smoke workload, and a reference submission of one of its points."""
    root = tmp_path_factory.mktemp("conv")
    workloads = root / "workloads"
    workloads.mkdir()
    spec = yaml.safe_load((REPO / "workloads" / "smoke.yaml").read_text())
    spec.update(id="conv-test", runs_per_point=3)
    spec["training"]["eval_every"] = 0.05
    (workloads / "conv-test.yaml").write_text(yaml.safe_dump(spec))
    point = "data.fraction=1.0,model.bottom_mlp=32-8,model.embedding.dim=8"
    reference = make_submission(root / "reference", workloads / "conv-test.yaml", points=[point],
                                system="ref-cpu", reach=lambda p, seed: 16 + seed)
    return {"workloads": workloads, "reference": reference, "root": root, "point": Path(point)}


def submit(setup: dict[str, Path], name: str, reach) -> Path:
    return make_submission(setup["root"] / name, setup["workloads"] / "conv-test.yaml",
                           points=[str(setup["point"])], reach=reach)


def test_references_are_read_by_point(setup):
    found = load_references([setup["reference"]])
    assert len(found) == 1
    (key, samples), = found.items()
    assert key[0] == "conv-test" and key[2] == str(setup["point"])
    assert len(samples) == 3 and len(set(samples)) == 3


def test_fast_convergence_is_flagged(setup):
    root = submit(setup, "fast", reach=lambda p, seed: 2)
    report = check_submission(root, references=[setup["reference"]], workloads=[setup["workloads"]])
    assert report.failed_rules() == ["CONV-2"], [f.line() for f in report.errors]
    (finding,) = report.errors
    assert "below the convergence band" in finding.message and "3 run(s)" in finding.message


def test_convergence_within_the_band_passes(setup):
    root = submit(setup, "ok", reach=lambda p, seed: 15 + seed)  # one evaluation ahead of the reference
    report = check_submission(root, references=[setup["reference"]], workloads=[setup["workloads"]])
    assert report.passed, [f.line() for f in report.errors]
    assert not [f for f in report.findings if f.rule.startswith("CONV")]


def test_without_references_the_band_is_a_note(setup):
    root = submit(setup, "noref", reach=lambda p, seed: 2)
    report = check_submission(root, references=[], workloads=[setup["workloads"]])
    assert report.passed
    assert [f.rule for f in report.notes] == ["CONV-3"]
    aborted = submit(setup, "aborted", reach=lambda p, seed: None)
    report = check_submission(aborted, references=[setup["reference"]], workloads=[setup["workloads"]])
    assert report.passed and "no successful run" in report.notes[0].message


def test_the_checked_submission_is_not_its_own_reference(setup):
    assert reference_roots([setup["reference"]], setup["reference"]) == []
    report = check_submission(setup["reference"], references=[setup["reference"]], workloads=[setup["workloads"]])
    assert [f.rule for f in report.notes] == ["CONV-3"]


def test_open_division_is_not_tested(setup):
    root = make_submission(setup["root"] / "open", setup["workloads"] / "conv-test.yaml",
                           points=[str(setup["point"])], division="open", reach=lambda p, seed: 2)
    report = check_submission(root, references=[setup["reference"]], workloads=[setup["workloads"]])
    assert report.passed and not [f for f in report.findings if f.rule.startswith("CONV")]
