"""The committed leaderboard and study report are what the commands make from the committed results.

`recscale score submissions --out submissions/leaderboard` and `recscale report
submissions/reference-cpu --out submissions/reference-cpu/report` are deterministic; these tests
re-run them into a temporary folder and compare every file byte for byte, so a change to the
fits, the checker or the records that would change the published numbers fails here until the
committed outputs are regenerated (README.md, "The scaling study").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parent.parent
SUBMISSIONS = REPO / "submissions"
REFERENCE = SUBMISSIONS / "reference-cpu"


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_tree(made: Path, committed: Path) -> None:
    made_files, committed_files = files_of(made), files_of(committed)
    assert sorted(made_files) == sorted(committed_files)
    differing = [name for name in made_files if made_files[name] != committed_files[name]]
    assert not differing, f"regenerate {committed}: these files differ: {differing}"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="no committed reference submission")
def test_reference_submission_checks_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(REFERENCE)]) == 0
    assert "PASS" in capsys.readouterr().out


@pytest.mark.skipif(not (SUBMISSIONS / "leaderboard").is_dir(), reason="no committed leaderboard")
def test_score_reproduces_the_committed_leaderboard(tmp_path: Path) -> None:
    assert main(["score", str(SUBMISSIONS), "--out", str(tmp_path / "leaderboard")]) == 0
    assert_same_tree(tmp_path / "leaderboard", SUBMISSIONS / "leaderboard")


@pytest.mark.skipif(not (REFERENCE / "report").is_dir(), reason="no committed report")
def test_report_reproduces_the_committed_report(tmp_path: Path) -> None:
    assert main(["report", str(REFERENCE), "--out", str(tmp_path / "report")]) == 0
    assert_same_tree(tmp_path / "report", REFERENCE / "report")
