"""How a sweep publishes its runs (a finished run's folder appears whole, an unfinished one is redone)
and how `recscale run` picks its executor (no cluster needed here; tests/test_executor_ray.py has
the Ray executor at work)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.check import check_submission
from harness.cli import main
from harness.executors.task import RunTask, Where, execute_run
from harness.runner import RunConfig
from harness.submission import publish_run, run_sweep
from recscale.layout import RunKey, SubmissionLayout
from recscale.load import load_points

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "tests" / "fixtures" / "workloads" / "tiny.yaml"
POINT = "data.fraction=0.5"


def config(tmp_path: Path) -> RunConfig:
    return RunConfig(submitter="test-org", division="closed", system="testbox", backend="torch", device="cpu",
                     data_root=tmp_path / "data", status="research", progress=False)


def run_args(tmp_path: Path, *extra: str) -> list[str]:
    return ["run", str(TINY), "--submission", str(tmp_path / "sub"), "--submitter", "test-org", "--backend", "torch",
            "--data-root", str(tmp_path / "data"), "--no-progress", "--points", POINT, "--seeds", "0", *extra]


def test_an_unfinished_run_is_redone_and_replaced_whole(tmp_path):
    """A run folder with a log and no record (a crash of an older harness: RUN-3) and the hidden folder
    of a publication cut short are both gone once the run is redone."""
    sub = tmp_path / "sub"
    layout = SubmissionLayout(sub)
    key = RunKey("testbox", "tiny", POINT, 0)
    layout.run_dir(key).mkdir(parents=True)
    layout.mllog_file(key).write_text(':::MLLOG {"key": "init_start"}\n')
    layout.publishing_dir(key).mkdir()
    (layout.publishing_dir(key) / "mllog.txt").write_text("half")
    outcome = run_sweep(TINY, sub, config(tmp_path), point_ids=[POINT], seeds=[0], announce=lambda _: None)
    assert len(outcome.ran) == 1 and not outcome.skipped
    assert sorted(p.name for p in layout.run_dir(key).iterdir()) == ["mllog.txt", "result.json"]
    assert not layout.publishing_dir(key).exists()
    assert check_submission(sub).failed_rules() == ["RUN-1"]  # one seed of two: nothing about the files


def test_the_record_is_derived_from_the_log_the_worker_sent(tmp_path):
    """A worker's report carries its log's text; the record is what that text gives, and a text that
    gives none is refused before anything is written."""
    point = next(p for p in load_points(TINY)[1] if p.point_id == POINT)
    key = RunKey("testbox", "tiny", POINT, 3)
    report = execute_run(RunTask(key, point, config(tmp_path)), Where("here", 1, "cpu"))
    assert report.error is None and report.log_text is not None
    layout = SubmissionLayout(tmp_path / "sub")
    result = publish_run(layout, key, point, report.log_text)
    assert result.seed == 3 and result.point_id == POINT
    assert layout.mllog_file(key).read_text() == report.log_text
    cut = "\n".join(report.log_text.splitlines()[:-1]) + "\n"  # the last event (recscale_pass_end) is lost
    other = RunKey("testbox", "tiny", POINT, 4)
    with pytest.raises(ValueError, match="recscale_pass_end"):
        publish_run(layout, other, point, cut)
    assert not layout.run_dir(other).exists() and not layout.publishing_dir(other).exists()


@pytest.mark.parametrize(("extra", "message"), [
    (["--retries", "3"], "--retries: goes with --executor ray"),
    (["--address", "auto", "--max-concurrent", "2"], "--max-concurrent: goes with --executor ray"),
    (["--executor", "ray", "--gpus-per-run", "1"], "runs on --device cpu use no GPU"),
    (["--executor", "ray", "--device", "cuda", "--gpus-per-run", "0"], "--device cuda on Ray needs GPUs"),
    (["--executor", "ray", "--device", "cuda", "--gpus-per-run", "1.5"], "takes whole GPUs"),
])
def test_executor_flags_that_do_not_go_together_are_refused(tmp_path, capsys, extra, message):
    assert main(run_args(tmp_path, *extra)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "sub").exists()


@pytest.mark.parametrize("flag", ["--cpus-per-run=0", "--max-concurrent=0", "--retries=-1", "--gpus-per-run=x"])
def test_executor_numbers_are_checked_by_the_parser(tmp_path, capsys, flag):
    with pytest.raises(SystemExit) as refused:
        main(run_args(tmp_path, "--executor", "ray", flag))
    assert refused.value.code == 2 and flag.split("=")[0] in capsys.readouterr().err


def test_without_ray_the_error_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without the package looks like
    assert main(run_args(tmp_path, "--executor", "ray")) == 2
    assert "pip install 'recscale[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "sub").exists()
