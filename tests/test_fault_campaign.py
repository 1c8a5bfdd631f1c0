"""The core of the fault campaign (bench/bench_fault_campaign.py): a dozen representative corruptions
of a valid submission through `check`, `score` and `report`, one `score` of them all beside the valid
one, and a few edge cases of `score`/`report`; each command in its own process with a timeout. No
traceback, hang, wrong pass, unnamed refusal or stray write. The whole campaign is slow-marked."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))  # bench/ is a folder of scripts, not a package

import bench_fault_campaign as campaign  # noqa: E402
from fault_corruptions import BY_NAME  # noqa: E402
from fault_edges import EDGES as ALL_EDGES  # noqa: E402
from fault_launch import Ran, changes, snapshot  # noqa: E402

CORE = [
    "delete-result", "truncate-mllog-mid-line", "flip-result-byte-30%", "type-result-seed-string",
    "huge-spec-lr-1e999", "huge-spec-batch-400-digits", "huge-log-seed-5000-digits", "nan-result-final",
    "link-result-outside", "permission-result-000", "extra-tmp-leftover", "empty-point-folder",
    "relabel-copy-over-second-seed", "hash-manifest-zero", "control-read-only",
]
EDGES = ["score-one-failing-one-good", "score-out-is-a-file", "report-all-diverged-open", "score-empty-root",
         "run-data-root-a-file", "data-info-on-a-file", "data-verify-manifest-5000-digits"]


def settings(work: Path) -> campaign.Settings:
    (work / "mpl").mkdir(parents=True)
    return campaign.Settings(work, timeout=120.0)


def test_core_corruptions_are_refused_by_rule_and_name(tmp_path):
    config, tally = settings(tmp_path), campaign.Tally()
    base = campaign.make_base(config, tally, "factory")
    roots = [(BY_NAME[name], campaign.corrupt_case(config, tally, base, BY_NAME[name])) for name in CORE]
    campaign.score_all(config, tally, base, roots)
    assert tally.failures == []
    outcomes = {phase: n for (phase, outcome), n in tally.counts.items() if outcome == "ok"}
    assert outcomes == {"corrupt/check": len(CORE), "corrupt/score": len(CORE), "corrupt/report": len(CORE),
                        "corrupt/score-all": len(CORE) + 1}


def test_score_and_report_edge_cases(tmp_path):
    config, tally = settings(tmp_path), campaign.Tally()
    for edge in (e for e in ALL_EDGES if e.name in EDGES):
        campaign.edge_case(config, tally, edge)
    assert tally.failures == [] and tally.counts[("edge", "ok")] == len(EDGES)


def test_the_campaign_counts_what_goes_wrong(tmp_path):
    """The classification itself: a crash, a hang and a write outside --out are failures."""
    assert Ran(["check"], 3, "", "recscale: internal error (KeyError): 'x'", 1.0).failure() == "traceback"
    assert Ran(["check"], None, "", "", 120.0).failure() == "hang"
    assert Ran(["check"], -9, "", "", 1.0).failure() == "traceback"
    assert Ran(["check"], 3, "", "recscale: error: [Errno 28] No space left on device", 1.0).failure() == "os error"
    assert Ran(["check"], 0, "", "--- Logging error ---\nTraceback (most recent call last):", 1.0).failure() \
        == "traceback"
    assert Ran(["check"], 1, "FAIL", "", 1.0).failure() is None
    (tmp_path / "a").write_text("x")
    before = snapshot(tmp_path)
    (tmp_path / "b").write_text("y")
    assert changes(before, snapshot(tmp_path)) == ["+b"]


@pytest.mark.slow
def test_the_whole_campaign(tmp_path):
    assert campaign.main(["--keep", str(tmp_path / "work"), "--kills", "31"]) == 0
