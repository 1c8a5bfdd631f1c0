"""A submission may carry the report `recscale report` derived from it (RULES.md SUB-1, FILE-2/3)."""

from __future__ import annotations

from pathlib import Path

from submission_factory import make_submission

from harness.check import check_submission


def test_report_folder_is_allowed(tmp_path: Path) -> None:
    root = make_submission(tmp_path / "sub", points=["data.fraction=0.5,model.bottom_mlp=32-4,model.embedding.dim=4"])
    (root / "report" / "plots").mkdir(parents=True)
    (root / "report" / "README.md").write_text("# report\n")
    (root / "report" / "report.json").write_text("{}\n")
    (root / "report" / "plots" / "set1-data.svg").write_text("<svg/>")
    (root / "report" / "plots" / "set1-data.png").write_bytes(b"\x89PNG")
    report = check_submission(root, references=[])
    assert report.passed, [f.line() for f in report.errors]


def test_report_folder_holds_only_report_files(tmp_path: Path) -> None:
    root = make_submission(tmp_path / "sub", points=["data.fraction=0.5,model.bottom_mlp=32-4,model.embedding.dim=4"])
    (root / "report" / "plots").mkdir(parents=True)
    (root / "report" / "notes.txt").write_text("hi")
    (root / "report" / "plots" / "x.exe").write_bytes(b"MZ")
    (root / "report" / "plots" / "big.png").write_bytes(b"x" * (4 * 2**20 + 1))
    report = check_submission(root, references=[])
    assert not report.passed
    lines = [f.line() for f in report.errors]
    assert any("FILE-3" in line and "report/notes.txt" in line for line in lines), lines
    assert any("FILE-3" in line and "report/plots/x.exe" in line for line in lines), lines
    assert any("FILE-2" in line and "report/plots/big.png" in line for line in lines), lines
