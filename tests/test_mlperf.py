"""RecScale's strict log format (harness.mlperf), MLPerf result packages (harness.mlperf_results), olympic mean."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from mlperf_catalog import FIXTURES, SYSTEMS
from mlperf_logging.compliance_checker import mlp_compliance

from harness.mlperf import olympic_mean, parse_mllog, parse_mllog_lines
from harness.mlperf_results.package import read_mlperf_package
from harness.mlperf_results.resultlog import parse_result_text, read_result_log
from harness.mlperf_results.rounds import resolve_ruleset, round_from_path, ruleset_of, rulesets_for
from harness.mlperf_results.runs import KNOWN_TARGETS
from harness.mlperf_results.summarizer import score_system
from recscale.errors import InputError

V40 = FIXTURES / "mlperf_training_v4.0" / "NVIDIA"
V31 = FIXTURES / "mlperf_training_v3.1" / "NVIDIA"
V40_SYSTEM = "eos_n16_ngc24.04_merlin_hugectr"
V31_SYSTEM = "eos_ngc23.09_merlin_hugectr"

# Per-run minutes and olympic means from tests/fixtures/README.md (MLPerf result_summarizer logic).
V40_MINUTES = [1.019, 1.010, 0.950, 1.050, 1.005, 1.006, 0.948, 0.966, 1.006, 0.955]
V31_MINUTES = [3.877, 3.855, 3.877, 3.864, 3.871, 3.882, 3.618, 3.851, 3.625, 3.868]
EVENT = '{"namespace": "", "time_ms": 5, "event_type": "POINT_IN_TIME", "key": "k", "value": 1, "metadata": {}}'


@pytest.mark.parametrize(("root", "system", "minutes", "mean", "factor", "gbs", "evals_range"), [
    (V40, V40_SYSTEM, V40_MINUTES, 0.9896, 1.0, 135168, (18, 20)),
    (V31, V31_SYSTEM, V31_MINUTES, 3.8361, 1.0238095238095237, 55296, (14, 15)),
])
def test_real_packages_match_the_published_table(root, system, minutes, mean, factor, gbs, evals_range):
    package = read_mlperf_package(root)
    assert [s.name for s in package.systems] == [system] and list(package.systems[0].description) != []
    runs = package.runs_of(system)
    assert [r.index for r in runs] == list(range(10))
    assert [round(r.minutes, 3) for r in runs] == minutes
    score = score_system(package, package.system(system))
    assert round(score.olympic_mean, 4) == mean and score.scaling_factor == factor
    assert score.score == pytest.approx(score.olympic_mean * factor, rel=1e-15)
    for run in runs:
        assert run.status == "success" and run.counted and run.reached_target
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
    assert package.system(system).description["submitter"] == "NVIDIA"


def test_recscale_logs_are_read_strictly():
    log = parse_mllog(V40 / "results" / V40_SYSTEM / "dlrm_dcnv2" / "result_0.txt")
    assert len(log.sysjson) == 2 and log.sysjson[0][0] == 1
    assert log.sysjson[0][1]["system_name"] == "Eos_n16"
    assert log.first("run_start").line > 2
    # LOG-1: a line is an event only when it starts with the token; anything before it makes it other text
    parsed, problems = parse_mllog_lines(
        ["launcher says hi", "", f":::MLLOG {EVENT}", f"0: :::MLLOG {EVENT}", "+ echo ':::SYSJSON {\"a\": 1}'"], "f")
    assert problems == [] and parsed.other_lines == 3 and parsed.sysjson == ()
    assert [(e.key, e.line) for e in parsed.events] == [("k", 3)]


def test_result_files_are_read_as_mlperf_logging_reads_them():
    text = "\r\n".join([
        "+ echo ':::SYSJSON {\"submitter\": \"x\"}'",  # trace line: no :::MLLOG token, ignored
        f"[0] :::MLLOG {EVENT}",  # rank prefix: fine
        f':::MLLOG {{"bad": 1}} :::MLLOG {EVENT.replace(": 5", ": 7")}',  # two tokens: the last is read
        "caf\xe9 :::MLLOG ",  # nothing after the token: rejected
        ':::MLLOG {"time_ms": "soon", "key": "k", "value": 1, "metadata": {}}',  # float("soon"): rejected
        ':::MLLOG {"time_ms": "9", "key": ["odd"], "value": 1, "metadata": null}',  # read: mlperf-logging allows it
        ':::MLLOG {"time_ms": 1, "value": 1, "metadata": {}}',  # no key: mlperf-logging raises
    ])
    log = parse_result_text(text, Path("result_0.txt"))
    assert [(x.lineno, x.timestamp, x.key) for x in log.loglines] == [(2, 5.0, "k"), (3, 7.0, "k"), (6, 9.0, ["odd"])]
    assert [e.line for e in log.events] == [2, 3]  # RecScale's view keeps string keys only
    assert [(p.line, p.fatal) for p in log.problems] == [(4, False), (5, False), (7, True)]
    assert "no field 'key'" in log.fatal.message
    assert log.run_start_stop() == (None, None)


def test_unreadable_result_files_are_fatal(tmp_path):
    (tmp_path / "result_9.txt").mkdir()
    log = read_result_log(tmp_path / "result_9.txt")
    assert log.fatal is not None and log.fatal.line == 0 and "cannot read" in log.fatal.message


def test_rounds_and_rulesets(tmp_path):
    assert rulesets_for("dlrm_dcnv2") == ["3.0.0", "3.1.0", "4.0.0", "4.1.0", "5.0.0", "5.1.0", "6.0.0"]
    assert [ruleset_of(t) for t in ("v4.0", "4.1", "5.0.0", "v10.2", "four")] == ["4.0.0", "4.1.0", "5.0.0",
                                                                                   "10.2.0", None]
    assert round_from_path(Path("x/training_results_v4.0/NVIDIA")) == "v4.0"
    assert round_from_path(Path("mlperf_training_v3.1")) == "v3.1"
    assert round_from_path(tmp_path / "results" / "NVIDIA") is None
    assert resolve_ruleset(None, V40, "dlrm_dcnv2") == ("v4.0", "4.0.0", None)
    assert resolve_ruleset("v5.1", V40, "dlrm_dcnv2") == ("v5.1", "5.1.0", None)  # given beats the path
    assert "give it with --round" in resolve_ruleset(None, tmp_path, "dlrm_dcnv2")[2]
    assert "no dlrm_dcnv2 rules for round v2.1 (it has v3.0 to v6.0)" in resolve_ruleset("v2.1", V40, "dlrm_dcnv2")[2]
    assert "is not a round" in resolve_ruleset("latest", V40, "dlrm_dcnv2")[2]


def test_known_target_is_mlperf_loggings_for_every_round():
    checker_dir = Path(mlp_compliance.__file__).parent
    for ruleset in rulesets_for("dlrm_dcnv2"):
        rules = (checker_dir / f"training_{ruleset}" / "closed_dlrm_dcnv2.yaml").read_text()
        (threshold,) = re.findall(r"ATLEAST_ONE_CHECK: \"v\['value'\] >= ([0-9.]+)", rules)
        assert float(threshold) == KNOWN_TARGETS["dlrm_dcnv2"].target, ruleset


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


def test_one_broken_file_refuses_only_its_system(tmp_path):
    root = tmp_path / "training_results_v4.0" / "ORG"
    shutil.copytree(V40, root)
    shutil.copytree(V40 / "results" / V40_SYSTEM, root / "results" / "twin")
    shutil.copy(V40 / "systems" / f"{V40_SYSTEM}.json", root / "systems" / "twin.json")
    bench = root / "results" / V40_SYSTEM / "dlrm_dcnv2"
    (bench / "result_3.txt").write_text(':::MLLOG {"broken\n')  # rejected: the run is dropped
    (bench / "result_4.txt").write_bytes(b"\xff\xfe:::MLLOG [1]\n")  # not an object: mlperf-logging stops
    package = read_mlperf_package(root)
    broken, twin = (score_system(package, s) for s in package.systems)
    assert broken.score is None and broken.reason.startswith("result_4.txt: line 1: mlperf-logging cannot read")
    assert any(note.startswith("result_3.txt dropped: Compliance check failed") for note in broken.notes)
    assert twin.score == pytest.approx(0.9895583333333333) and twin.reason is None


def test_missing_folders_descriptions_and_stray_files(tmp_path):
    with pytest.raises(InputError, match="no results/ folder"):
        read_mlperf_package(tmp_path)
    (tmp_path / "results" / "sys" / "other_benchmark").mkdir(parents=True)
    with pytest.raises(InputError, match=r"no results/<system>/dlrm_dcnv2/ folder"):
        read_mlperf_package(tmp_path)
    bench = tmp_path / "results" / "sys" / "dlrm_dcnv2"
    bench.mkdir()
    shutil.copy(V31 / "results" / V31_SYSTEM / "dlrm_dcnv2" / "result_0.txt", bench / "result_10.txt")
    (bench / "notes.md").write_text("hi")
    package = read_mlperf_package(tmp_path, round_text="v3.1")
    system = package.system("sys")
    assert system.description is None and "systems/sys.json is missing" in system.description_problem
    assert [r.index for r in system.runs] == [0] and system.runs[0].counted and system.stray_files == ("notes.md",)
    score = score_system(package, system)
    assert score.score is None and "the summarizer skips the system" in score.reason
    (tmp_path / "systems").mkdir()
    shutil.copy(V31 / "systems" / f"{V31_SYSTEM}.json", tmp_path / "systems" / "sys.json")
    package = read_mlperf_package(tmp_path, round_text="v3.1")
    score = score_system(package, package.system("sys"))
    assert score.score is None and score.reason.startswith("1 counted run(s): none left")
    assert score.notes[0] == "1 result files; the package checker requires 10 for dlrm_dcnv2"


def test_an_unknown_round_refuses_every_system_with_the_fix(tmp_path):
    root = tmp_path / "ORG"
    shutil.copytree(V40, root)
    package = read_mlperf_package(root)
    assert package.ruleset is None and all(r.compliance is None for r in package.runs)
    score = score_system(package, package.systems[0])
    assert score.score is None and "give it with --round" in score.reason
    package = read_mlperf_package(root, round_text="v4.0")
    assert score_system(package, package.systems[0]).score == pytest.approx(0.9895583333333333)


def test_description_fields_the_summarizer_needs(tmp_path):
    root = tmp_path / "mlperf_training_v4.0" / "ORG"
    shutil.copytree(V40, root)
    path = root / "systems" / f"{V40_SYSTEM}.json"
    description = json.loads(path.read_text())
    for change, says in ((lambda d: d.update(number_of_nodes="16 nodes"), "number_of_nodes='16 nodes'"),
                         (lambda d: d.update(hw_notes=7), "framework, hw_notes and sw_notes must be text"),
                         (lambda d: d.pop("division"), "lacks field(s) division")):
        changed = dict(description)
        change(changed)
        path.write_text(json.dumps(changed))
        package = read_mlperf_package(root)
        assert says in score_system(package, package.systems[0]).reason
    path.write_text("[1, 2]")
    package = read_mlperf_package(root)
    assert "a system description is a JSON object, got list" in score_system(package, package.systems[0]).reason


def test_fixture_catalogue_covers_the_fixtures():
    on_disk = sorted(p.parent.name for pattern in ("mlperf_training_v*/*/results/*/dlrm_dcnv2",
                                                   "mlperf_rounds/*/*/results/*/dlrm_dcnv2")
                     for p in FIXTURES.glob(pattern))
    assert on_disk == sorted(s.system for s in SYSTEMS)


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


def test_provenance_lists_every_collected_file_with_its_sha256():
    rounds = FIXTURES / "mlperf_rounds"
    listed = {}
    for match in re.finditer(r"^## `(training_results_v[\d.]+)/`|^\| `([^`]+)` \| \d+ \| `([0-9a-f]{64})` \|$",
                             (rounds / "PROVENANCE.md").read_text(), flags=re.MULTILINE):
        if match.group(1):
            folder = match.group(1)
        else:
            listed[f"{folder}/{match.group(2)}"] = match.group(3)
    on_disk = {str(p.relative_to(rounds)): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in rounds.rglob("*") if p.is_file() and p.name != "PROVENANCE.md"}
    assert listed == on_disk and len(on_disk) == 60
