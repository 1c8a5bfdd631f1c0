"""MLPerf parity: RecScale's reading of real dlrm_dcnv2 packages against mlperf-logging itself as the oracle.

The oracle is the code MLPerf publishes its tables with: ``mlp_parser.parse_file`` for the parse and
the result summarizer's ``_compute_strong_score_standalone`` / ``summarize_results`` for the scores.
Every real fixture system and every broken copy below must come out the same on both sides -- the
same runs counted with the same minutes, the same score, or no score for the same reason; where the
summarizer raises instead, RecScale refuses that one system and says why.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from mlperf_catalog import SYSTEMS, FixtureSystem
from mlperf_logging.compliance_checker.mlp_parser import parse_file
from mlperf_logging.result_summarizer import result_summarizer

from harness.mlperf_results.compliance import check_compliance
from harness.mlperf_results.package import read_mlperf_package
from harness.mlperf_results.resultlog import read_result_log
from harness.mlperf_results.summarizer import SystemScore, score_system

CISCO = next(s for s in SYSTEMS if s.submitter == "Cisco")  # trace lines, one non-compliant run
NVIDIA = next(s for s in SYSTEMS if s.system.startswith("eos_n16"))  # ten clean runs


def oracle(folder: Path, ruleset: str) -> tuple[dict[str, float], float | None, float, str]:
    """(minutes per counted file, score, scaling factor, what it printed) from the result summarizer."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        minutes, _, score, _, factor = result_summarizer._compute_strong_score_standalone(
            "dlrm_dcnv2", folder.parent.name, False, str(folder), "training", ruleset, return_full_scores=True)
    return {Path(f).name: m for f, m in minutes.items()}, score, factor, printed.getvalue()


def ours(root: Path, system: str) -> tuple[dict[str, float], SystemScore]:
    package = read_mlperf_package(root)
    found = package.system(system)
    minutes = {r.file.name: r.minutes for r in found.runs if r.counted and r.minutes is not None}
    return minutes, score_system(package, found)


@pytest.mark.parametrize("fixture", SYSTEMS, ids=lambda s: f"{s.round_dir[-4:]}-{s.submitter}")
def test_every_fixture_system_scores_as_the_summarizer(fixture: FixtureSystem) -> None:
    their_minutes, their_score, their_factor, _ = oracle(fixture.folder, fixture.ruleset)
    our_minutes, score = ours(fixture.root, fixture.system)
    assert our_minutes.keys() == their_minutes.keys() and len(our_minutes) == fixture.counted
    assert all(our_minutes[f] == pytest.approx(their_minutes[f], abs=1e-9) for f in our_minutes)
    assert score.scaling_factor == their_factor == fixture.scaling_factor
    assert score.score == pytest.approx(their_score, abs=1e-9) and score.reason is None
    assert (round(score.olympic_mean, 4), round(score.score, 4)) == (fixture.olympic_mean, fixture.score)


def test_every_fixture_file_parses_as_mlperf_logging_parses_it() -> None:
    files = [(s, f) for s in SYSTEMS for f in sorted(s.folder.glob("result_*.txt"))]
    assert len(files) == 10 * len(SYSTEMS)
    for fixture, path in files:
        theirs, their_failed = parse_file(str(path), ruleset=fixture.ruleset)
        log = read_result_log(path)
        assert [(x.timestamp, x.key, x.value, x.full_string) for x in log.loglines] == \
               [(x.timestamp, x.key, x.value, x.full_string) for x in theirs], path
        assert len(log.rejected) == len(their_failed) == 0 and log.fatal is None


# ------------------------------------------------------------------------ broken copies


def copy_of(fixture: FixtureSystem, tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / fixture.round_dir / fixture.submitter  # keeps the round in the path
    shutil.copytree(fixture.root, root)
    return root, root / "results" / fixture.system / "dlrm_dcnv2"


def edit_events(path: Path, edit: Callable[[dict], dict | None]) -> None:
    """Rewrite every `:::MLLOG` line of a result file through `edit` (None drops the line); rest unchanged."""
    lines = []
    for line in path.read_text(encoding="latin-1").splitlines():
        prefix, token, body = line.rpartition(":::MLLOG ")
        if token:
            event = edit(json.loads(body))
            if event is None:
                continue
            line = prefix + token + json.dumps(event)
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")


def below_target(event: dict) -> dict:
    return {**event, "value": 0.5} if event["key"] == "eval_accuracy" else event


def insert_trace_line(path: Path) -> None:
    """A bash trace of an echoed event: the token is there, the JSON ends in a quote -> the parser rejects it."""
    text = path.read_text(encoding="latin-1")
    event = next(line for line in text.splitlines() if '"key": "eval_samples"' in line)
    path.write_text(text + f"+ echo '{event[event.index(':::MLLOG'):]}'\n", encoding="latin-1")


def two_tokens_on_run_stop(path: Path) -> None:
    lines = path.read_text(encoding="latin-1").splitlines()
    lines = [':::MLLOG {"garbage": true} ' + line if '"key": "run_stop"' in line else line for line in lines]
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")


def latin1_and_crlf(path: Path) -> None:
    data = path.read_bytes().replace(b"\n", b"\r\n")
    path.write_bytes(b"launcher: caf\xe9 \xff\xfe\rprogress 50%\r" + data)


def keep_one(folder: Path) -> None:
    for path in sorted(folder.glob("result_*.txt"))[1:]:
        path.unlink()


CASES: dict[str, tuple[FixtureSystem, Callable[[Path], None], int, str | None]] = {
    # name: (package, change to its benchmark folder, runs counted, start of RecScale's reason for no score)
    "a second run below the target": (
        CISCO, lambda d: edit_events(d / "result_0.txt", below_target), 8, "Too many non-converging runs: 2 of 10"),
    "two runs below the target": (NVIDIA, lambda d: [edit_events(d / f"result_{i}.txt", below_target)
                                                     for i in (0, 1)], 8, "Too many non-converging runs"),
    "one run without run_stop": (
        NVIDIA, lambda d: edit_events(d / "result_3.txt", lambda e: None if e["key"] == "run_stop" else e), 9, None),
    "a trace line holding an event": (NVIDIA, lambda d: insert_trace_line(d / "result_2.txt"), 9, None),
    "two tokens on one line (the last is read)": (NVIDIA, lambda d: two_tokens_on_run_stop(d / "result_5.txt"), 10,
                                                  None),
    "latin-1 bytes, CR and CRLF line ends": (NVIDIA, lambda d: latin1_and_crlf(d / "result_6.txt"), 10, None),
    "one result file": (NVIDIA, keep_one, 1, "1 counted run(s): none left"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_copies_score_as_the_summarizer(name: str, tmp_path: Path) -> None:
    fixture, change, counted, reason = CASES[name]
    root, folder = copy_of(fixture, tmp_path)
    change(folder)
    their_minutes, their_score, _, printed = oracle(folder, fixture.ruleset)
    our_minutes, score = ours(root, fixture.system)
    assert our_minutes.keys() == their_minutes.keys() and len(our_minutes) == counted
    assert all(our_minutes[f] == pytest.approx(their_minutes[f], abs=1e-9) for f in our_minutes)
    if reason is None:
        assert score.score == pytest.approx(their_score, abs=1e-9) and score.reason is None
    else:
        assert their_score is None and score.score is None and score.reason.startswith(reason)
    if reason and reason.startswith("Too many"):
        assert "Too many non-converging runs" in printed  # the summarizer's own words


def drop_field(field: str) -> Callable[[Path], None]:
    return lambda d: edit_events(d / "result_4.txt", lambda e: {k: v for k, v in e.items() if k != field}
                                 if e["key"] == "run_start" else e)


FATAL: dict[str, tuple[Callable[[Path], None], type[Exception], str]] = {
    # name: (change, what the summarizer raises, what RecScale's reason says)
    "an event without time_ms": (drop_field("time_ms"), KeyError, "result_4.txt: line "),
    "an event without metadata": (drop_field("metadata"), KeyError, "no field 'metadata'"),
    "a non-numeric eval_accuracy": (lambda d: edit_events(d / "result_7.txt", lambda e: {**e, "value": "high"}
                                                          if e["key"] == "eval_accuracy" else e),
                                    TypeError, "compliance checker stops: TypeError"),
    "scaling.json not JSON": (lambda d: (d / "scaling.json").write_text("{1.02"), TypeError,
                              "scaling.json: not valid JSON"),
    "scaling.json without the factor": (lambda d: (d / "scaling.json").write_text('{"factor": 1.02}'), KeyError,
                                        'scaling.json: it must be a JSON object with "scaling_factor"'),
}


@pytest.mark.parametrize("name", sorted(FATAL))
def test_where_the_summarizer_stops_only_that_system_is_refused(name: str, tmp_path: Path) -> None:
    change, raised, reason = FATAL[name]
    root, folder = copy_of(NVIDIA, tmp_path)
    change(folder)
    with pytest.raises(raised):
        oracle(folder, NVIDIA.ruleset)
    _, score = ours(root, NVIDIA.system)
    assert score.score is None and reason in score.reason


def summarize(root: Path, ruleset: str) -> dict[str, float | None]:
    """summarize_results' dlrm_dcnv2 column by system name (its `system` column is the system_name)."""
    with contextlib.redirect_stdout(io.StringIO()):
        table = result_summarizer.summarize_results(str(root), "training", ruleset)[0]
    return dict(zip(table["system"], table["dlrm_dcnv2"], strict=True))


def test_system_descriptions_as_summarize_results_reads_them(tmp_path: Path) -> None:
    root, _ = copy_of(NVIDIA, tmp_path)
    description = root / "systems" / f"{NVIDIA.system}.json"
    content = json.loads(description.read_text())
    description.write_text(json.dumps({k: v for k, v in content.items() if k != "hw_notes"}))
    with pytest.raises(NameError):  # its FieldError handler names an undefined variable
        summarize(root, NVIDIA.ruleset)
    assert "lacks field(s) hw_notes" in ours(root, NVIDIA.system)[1].reason
    description.unlink()
    assert summarize(root, NVIDIA.ruleset) == {}  # the system is skipped: no row at all
    assert "systems/eos_n16_ngc24.04_merlin_hugectr.json is missing" in ours(root, NVIDIA.system)[1].reason


def test_a_crashed_compliance_check_leaves_no_state_behind(tmp_path: Path) -> None:
    _, folder = copy_of(NVIDIA, tmp_path)
    edit_events(folder / "result_7.txt", lambda e: {**e, "value": "high"} if e["key"] == "eval_accuracy" else e)
    crashed = check_compliance(read_result_log(folder / "result_7.txt"), NVIDIA.ruleset)
    assert crashed.crash and not crashed.passed
    assert check_compliance(read_result_log(folder / "result_0.txt"), NVIDIA.ruleset).passed
