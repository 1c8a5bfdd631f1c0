"""harness.mlperf: MLPerf log parsing, real MLPerf Training packages, olympic mean."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.mlperf import (
    KNOWN_TARGETS,
    olympic_mean,
    parse_mllog,
    parse_mllog_lines,
    read_mlperf_package,
)
from recscale.errors import InputError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
V40 = FIXTURES / "mlperf_training_v4.0" / "NVIDIA"
V31 = FIXTURES / "mlperf_training_v3.1" / "NVIDIA"
V40_SYSTEM = "eos_n16_ngc24.04_merlin_hugectr"
V31_SYSTEM = "eos_ngc23.09_merlin_hugectr"

# Per-run minutes and olympic means from tests/fixtures/README.md (MLPerf result_summarizer logic).
V40_MINUTES = [1.019, 1.010, 0.950, 1.050, 1.005, 1.006, 0.948, 0.966, 1.006, 0.955]
V31_MINUTES = [3.877, 3.855, 3.877, 3.864, 3.871, 3.882, 3.618, 3.851, 3.625, 3.868]


@pytest.mark.parametrize(("root", "system", "minutes", "score", "gbs", "evals_range"), [
    (V40, V40_SYSTEM, V40_MINUTES, 0.9896, 135168, (18, 20)),
    (V31, V31_SYSTEM, V31_MINUTES, 3.8361, 55296, (14, 15)),
])
def test_real_packages_match_the_published_table(root, system, minutes, score, gbs, evals_range):
    package = read_mlperf_package(root)
    assert list(package.systems) == [system]
    runs = package.runs_of(system)
    assert [r.index for r in runs] == list(range(10))
    assert [round(r.minutes, 3) for r in runs] == minutes
    assert round(package.score_minutes(system), 4) == score
    for run in runs:
        assert run.status == "success" and run.converged and run.reached_target
        assert run.global_batch_size == gbs
        assert run.train_samples == 4195197692 and run.eval_samples == 89137319
        assert run.submission == {"benchmark": "dlrm_dcnv2", "org": "NVIDIA", "division": "closed",
                                  "status": "onprem", "platform": run.submission["platform"]}
        assert run.hyperparameters["opt_name"] == "adagrad"
        assert run.hyperparameters["opt_adagrad_epsilon"] == 1e-8
        assert evals_range[0] <= len(run.evals) <= evals_range[1]
        last = run.evals[-1]
        # the last evaluation is the one that reached the target, and run_stop follows it
        assert KNOWN_TARGETS["dlrm_dcnv2"].reached(last.value)
        assert not any(KNOWN_TARGETS["dlrm_dcnv2"].reached(p.value) for p in run.evals[:-1])
        assert last.samples == round(last.epoch_num * 4195197692)
    assert package.systems[system]["submitter"] == "NVIDIA"


def test_sysjson_lines_are_kept_and_noise_is_counted(tmp_path):
    log = parse_mllog(V40 / "results" / V40_SYSTEM / "dlrm_dcnv2" / "result_0.txt")
    assert len(log.sysjson) == 2 and log.sysjson[0][0] == 1
    assert log.sysjson[0][1]["system_name"] == "Eos_n16"
    assert log.first("run_start").line > 2
    parsed, problems = parse_mllog_lines(
        ["launcher says hi", "", '0: :::MLLOG {"namespace": "", "time_ms": 5, "event_type": "POINT_IN_TIME", '
         '"key": "k", "value": 1, "metadata": {}}'], "f")
    assert problems == [] and parsed.other_lines == 1
    assert parsed.events[0].key == "k" and parsed.events[0].line == 3


@pytest.mark.parametrize(("line", "says"), [
    (':::MLLOG {"time_ms": 1', "not valid JSON"),
    (":::MLLOG [1, 2]", "must be an object"),
    (':::MLLOG {"time_ms": 1, "event_type": "POINT_IN_TIME", "key": "k", "value": 1}', "missing field(s) metadata"),
    (':::MLLOG {"time_ms": "1", "event_type": "POINT_IN_TIME", "key": "k", "value": 1, "metadata": {}}',
     "time_ms must be a finite number"),
    (':::MLLOG {"time_ms": NaN, "event_type": "POINT_IN_TIME", "key": "k", "value": 1, "metadata": {}}',
     "time_ms must be a finite number"),
    (':::MLLOG {"time_ms": 1, "event_type": "POINT", "key": "k", "value": 1, "metadata": {}}', "event_type"),
    (':::MLLOG {"time_ms": 1, "event_type": "POINT_IN_TIME", "key": "", "value": 1, "metadata": {}}', "key must"),
    (':::MLLOG {"time_ms": 1, "event_type": "POINT_IN_TIME", "key": "k", "value": 1, "metadata": 3}', "metadata"),
    (":::SYSJSON {not json", "not valid JSON"),
])
def test_malformed_lines_name_file_and_line(line, says):
    _, problems = parse_mllog_lines(["", line], "x.txt")
    assert len(problems) == 1
    assert problems[0].file == "x.txt" and problems[0].path == "line 2"
    assert says in problems[0].message


def test_unreadable_package_files_raise_input_error(tmp_path):
    root = tmp_path / "ORG"
    shutil.copytree(V40, root)
    bench = root / "results" / V40_SYSTEM / "dlrm_dcnv2"
    (bench / "result_3.txt").write_text(':::MLLOG {"broken\n')
    (bench / "result_4.txt").write_bytes(b"\xff\xfe:::MLLOG")
    (root / "systems" / f"{V40_SYSTEM}.json").write_text("[1, 2]")
    with pytest.raises(InputError) as err:
        read_mlperf_package(root)
    found = {(Path(p.file).name, p.path) for p in err.value.problems}
    assert ("result_3.txt", "line 1") in found
    assert ("result_4.txt", "byte 0") in found
    assert (f"{V40_SYSTEM}.json", "") in found


def test_missing_folders_and_descriptions(tmp_path):
    with pytest.raises(InputError, match="no results/ folder"):
        read_mlperf_package(tmp_path)
    (tmp_path / "results" / "sys" / "dlrm_dcnv2").mkdir(parents=True)
    with pytest.raises(InputError, match=r"no results/<system>/dlrm_dcnv2/result_N\.txt"):
        read_mlperf_package(tmp_path)
    shutil.copy(V31 / "results" / V31_SYSTEM / "dlrm_dcnv2" / "result_0.txt",
                tmp_path / "results" / "sys" / "dlrm_dcnv2" / "result_10.txt")
    package = read_mlperf_package(tmp_path)
    assert package.systems == {} and [r.index for r in package.runs] == [10]
    assert any("no system description" in n.message for n in package.notes)
    assert package.score_minutes("sys") is None  # one run: nothing left after the olympic drop


def test_an_unconverged_run_counts_as_a_dropped_slowest(tmp_path):
    root = tmp_path / "ORG"
    shutil.copytree(V40, root)
    path = root / "results" / V40_SYSTEM / "dlrm_dcnv2" / "result_3.txt"  # the slowest run, 1.050
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if '"key": "run_stop"' in line:
            event = json.loads(line.split(":::MLLOG", 1)[1])
            event["metadata"]["status"] = "aborted"
            lines[i] = ":::MLLOG " + json.dumps(event)
    path.write_text("\n".join(lines) + "\n")
    package = read_mlperf_package(root)
    assert not package.runs_of(V40_SYSTEM)[3].converged
    kept = sorted(m for i, m in enumerate(V40_MINUTES) if i != 3)[1:]  # drop the fastest only
    assert package.score_minutes(V40_SYSTEM) == pytest.approx(sum(kept) / 8, abs=1e-3)


def test_olympic_mean():
    assert olympic_mean([5.0, 1.0, 2.0, 3.0, 100.0]) == pytest.approx(10 / 3)
    assert olympic_mean(list(range(10))) == pytest.approx(4.5)
    assert olympic_mean([1.0, 2.0, 3.0], already_dropped=1) == pytest.approx(2.5)  # drop fastest only
    assert olympic_mean([1.0, 2.0, 9.0], n_drop=0) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="nothing left"):
        olympic_mean([1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        olympic_mean([1.0, float("nan"), 2.0])
    with pytest.raises(ValueError, match="already_dropped"):
        olympic_mean([1.0, 2.0, 3.0], already_dropped=2)
