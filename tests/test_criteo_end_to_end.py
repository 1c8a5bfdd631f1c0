"""Real Criteo rows through the whole flow (issue 14's goal): `data convert` -> `run` -> `check` ->
`report` -> `score`, and the Kaggle tables that the converted data must fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from recscale.errors import InputError
from recscale.load import load_workload
from recscale.resources import packaged_workloads
from recscale.spec import WorkloadSpec
from reference.data.convert import convert
from reference.data.loader import open_dataset

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "criteo_kaggle_sample" / "train.txt"
LINES = SAMPLE.read_text().splitlines()
KAGGLE = load_workload(packaged_workloads() / "dlrm-criteo-kaggle.yaml")


def kaggle_on(folder: Path, **data: object) -> WorkloadSpec:
    """dlrm-criteo-kaggle (full Kaggle tables, no cap) reading `folder`, sized to the 200-line sample."""
    fields = {**KAGGLE.data.model_dump(), "path": str(folder), "train_samples": 172, "eval_samples": 14, **data}
    return KAGGLE.model_copy(update={"data": KAGGLE.data.model_validate(fields)})


def test_the_sample_workload_is_dlrm_criteo_kaggle_sized_to_the_sample() -> None:
    sample = load_workload(packaged_workloads() / "dlrm-criteo-kaggle-sample.yaml")
    assert sample.model == KAGGLE.model and sample.training.optimizer == KAGGLE.training.optimizer
    assert (sample.data.source, sample.data.cardinalities) == (KAGGLE.data.source, KAGGLE.data.cardinalities)


def test_convert_run_check_report_score_on_real_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # the workload reads data/criteo_kaggle_sample, relative to where it runs
    assert main(["data", "convert", "criteo-kaggle", str(SAMPLE), "--out", "data/criteo_kaggle_sample"]) == 0
    assert main(["run", "dlrm-criteo-kaggle-sample", "--submission", "subs/sample", "--system", "cpu-sample",
                 "--submitter", "E2E", "--backend", "torch", "--no-progress", "--status", "research"]) == 0
    out = capsys.readouterr().out
    assert "4 ran, 0 already finished, 0 failed" in out and out.count("target reached") == 4
    assert main(["check", "subs/sample"]) == 0
    assert "PASS  subs/sample: 4 run(s)" in capsys.readouterr().out
    assert main(["report", "subs/sample", "--out", "report", "--bootstrap", "50"]) == 0
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert [g["workloads"] for g in report["groups"]] == [["dlrm-criteo-kaggle-sample"]]
    assert main(["score", "subs", "--out", "board", "--bootstrap", "50"]) == 0
    captured = capsys.readouterr()
    assert "skipped" not in captured.err and "scored   sample  (E2E, closed, 4 runs)" in captured.out
    (closed,) = json.loads((tmp_path / "board" / "leaderboard.json").read_text())["closed"]
    assert closed["workload_id"] == "dlrm-criteo-kaggle-sample" and closed["rows"][0]["points_total"] == 4


def test_converted_real_rows_fit_dlrms_kaggle_tables(tmp_path: Path) -> None:
    """The Kaggle file's C9 has 3 values and is never missing: DLRM's table has 3 rows, and the
    converter gives it 3 ids (not 4, with an id kept for a missing value that never occurs)."""
    third = "\t".join(f if i != 22 else "0000c9c9" for i, f in enumerate(LINES[0].split("\t")))  # a third C9 value
    path = tmp_path / "train.txt"
    path.write_text("\n".join([third, *LINES[1:]]) + "\n")
    manifest = convert("criteo_kaggle", [path], tmp_path / "data", log=False)
    assert manifest.cardinalities[8] == KAGGLE.data.feature_cardinalities[8] == 3
    dataset = open_dataset(kaggle_on(tmp_path / "data"), tmp_path)
    assert dataset.cardinalities == tuple(manifest.cardinalities)


def test_data_that_does_not_fit_the_tables_is_refused_naming_the_features(tmp_path: Path) -> None:
    manifest = convert("criteo_kaggle", [SAMPLE], tmp_path / "data", log=False)
    small = list(manifest.cardinalities)
    small[8], small[16] = small[8] - 1, small[16] - 2  # C9 and C17 one and two rows short
    with pytest.raises(InputError) as err:
        open_dataset(kaggle_on(tmp_path / "data", cardinalities=small), tmp_path)
    (problem,) = err.value.problems
    assert problem.file == str(tmp_path / "data" / "manifest.json") and problem.path == "cardinalities"
    have = manifest.cardinalities
    assert (f"in 2 feature(s): C9 has {have[8]} ids, its table {have[8] - 1} rows; C17 has {have[16]} ids, its table "
            f"{have[16] - 2} rows. Fix: set the workload's data.cardinalities to the data set's {have}") \
        in problem.message
