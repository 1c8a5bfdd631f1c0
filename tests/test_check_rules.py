"""Each machine-checked rule of RULES.md: a valid submission broken in one way reports that rule's id."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from submission_factory import (
    edit_events,
    edit_json,
    index_of,
    make_submission,
    read_events,
    run_folders,
    write_events,
    write_manifest,
)

from harness.check import RULES, check_submission
from recscale.sweep import spec_sha256

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Valid submissions of the smoke workload: closed (reaching the target), aborted, open, and
    diverged runs (before any evaluation, after one, after reaching the target)."""
    root = tmp_path_factory.mktemp("bases")
    return {
        "closed": make_submission(root / "closed"),
        "aborted": make_submission(root / "aborted", reach=lambda point, seed: None),
        "open": make_submission(root / "open", division="open"),
        "diverged": make_submission(root / "diverged", reach=lambda p, s: None,
                                    diverge=lambda p, s: int(p.point_id.endswith("4")) + 1),
        "diverged_early": make_submission(root / "diverged_early", reach=lambda p, s: None, diverge=lambda p, s: 0),
        "diverged_late": make_submission(root / "diverged_late", reach=lambda p, s: 0, diverge=lambda p, s: 2),
    }


def first(root: Path, name: str) -> Path:
    return run_folders(root)[0] / name


def edit_result(root: Path, change: Callable) -> None:
    """Change the first run's result.json and keep the manifest in step (so only the change shows)."""
    edit_json(first(root, "result.json"), change)
    write_manifest(root, "factory-org", json.loads((root / "submission.json").read_text())["division"])


def set_path(doc: dict, dotted: str, value: object) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    doc[int(leaf) if isinstance(doc, list) else leaf] = value


def log_value(key: str, value: object, nth: int = 0) -> Callable:
    def change(root: Path) -> None:
        edit_events(first(root, "mllog.txt"), lambda ev: ev[index_of(ev, key, nth)].update(value=value))
    return change


def move_event(key: str, after_key: str, nth: int = 0) -> Callable:
    """Move the event `key` to just after the nth `after_key`."""
    def change(root: Path) -> None:
        def move(events: list) -> None:
            event = events.pop(index_of(events, key))
            events.insert(index_of(events, after_key, nth) + 1, event)
        edit_events(first(root, "mllog.txt"), move)
    return change


def delete_event(key: str, nth: int = 0) -> Callable:
    def change(root: Path) -> None:
        edit_events(first(root, "mllog.txt"), lambda ev: ev.pop(index_of(ev, key, nth)))
    return change


def result_field(dotted: str, value: object) -> Callable:
    return lambda root: edit_result(root, lambda doc: set_path(doc, dotted, value))


def respec(change_spec: Callable[[dict], None]) -> Callable:
    """Change the first run's spec and make result and log agree on its new hash (only the rule breaks)."""
    def change(root: Path) -> None:
        sha = {}

        def edit(doc: dict) -> None:
            change_spec(doc["spec"])
            doc["spec_sha256"] = sha["new"] = spec_sha256(doc["spec"])
        edit_result(root, edit)
        edit_events(first(root, "mllog.txt"),
                    lambda ev: ev[index_of(ev, "recscale_spec_sha256")].update(value=sha["new"]))
    return change


def symlink_in_run(root: Path) -> None:
    os.symlink("/etc/hostname", first(root, "notes.txt"))


def manifest_escape(root: Path) -> None:
    edit_json(root / "submission.json", lambda doc: set_path(doc, "runs.0.path", "../../etc"))


def second_seed(root: Path) -> None:
    make_submission(root, points=[run_folders(root)[0].parent.name], seeds=[1])


def edit_copy(change: Callable[[str], str]) -> Callable:
    """Change the submission's copy of the smoke workload (workloads/smoke.yaml)."""
    def edit(root: Path) -> None:
        path = root / "workloads" / "smoke.yaml"
        path.write_text(change(path.read_text()))
    return edit


def rename_copy(root: Path) -> None:
    (root / "workloads" / "smoke.yaml").rename(root / "workloads" / "smoke2.yaml")


def drop_first_evaluation(root: Path) -> None:
    """Remove the first evaluation from log and result alike: a gap of two eval_every (LOG-5)."""
    def drop(events: list) -> list:
        start = index_of(events, "eval_start")
        return events[:start] + events[start + 4:]
    edit_events(first(root, "mllog.txt"), drop)
    edit_result(root, lambda doc: doc["curve"].pop(0))


def time_back(root: Path) -> None:
    edit_events(first(root, "mllog.txt"), lambda ev: ev[index_of(ev, "eval_start", 1)].update(time_ms=0))


def swap_abort_and_stop(root: Path) -> None:
    def swap(events: list) -> None:
        i, j = index_of(events, "recscale_abort_reason"), index_of(events, "run_stop")
        events[i], events[j] = events[j], events[i]
    edit_events(first(root, "mllog.txt"), swap)


def stop_before_last_eval(root: Path) -> None:
    """An aborted run that logs an evaluation after its run_stop (TIME-5)."""
    def move(events: list) -> None:
        reason, stop = events.pop(index_of(events, "recscale_abort_reason")), events.pop(index_of(events, "run_stop"))
        at = index_of(events, "eval_start", 3)
        events[at:at] = [reason, stop]
    edit_events(first(root, "mllog.txt"), move)


def reach_in_aborted(root: Path) -> None:
    """An evaluation of an aborted run that reached the target (CONV-1)."""
    def reach(events: list) -> None:
        events[index_of(events, "eval_accuracy", 2)]["value"] = 0.5
        events[index_of(events, "recscale_eval_metrics", 2)]["value"]["ne"] = 0.5
    edit_events(first(root, "mllog.txt"), reach)


def garbage_line(root: Path) -> None:
    events = read_events(first(root, "mllog.txt"))
    write_events(first(root, "mllog.txt"), [*events[:3], "Traceback (most recent call last):", *events[3:]])


def unfinished_run(root: Path) -> None:
    first(root, "result.json").unlink()
    write_manifest(root)


# rule -> (base submission, mutation, a fragment of the finding's message)
CASES: list[tuple[str, str, Callable[[Path], None], str]] = [
    ("SUB-1", "closed", lambda r: (r / "submission.json").unlink(), "missing"),
    ("SUB-1", "closed", lambda r: first(r, "mllog.txt").unlink(), "no mllog.txt"),
    ("SUB-2", "closed", lambda r: first(r, "result.json").write_text('{"seed": NaN}'), "NaN is not JSON"),
    ("SUB-2", "closed", lambda r: first(r, "result.json").write_text('{"seed": 1, "seed": 2}'), "duplicate key"),
    ("SUB-2", "closed", result_field("samples_seen", "many"), "is not of type 'integer'"),
    ("SUB-3", "closed", lambda r: edit_json(r / "submission.json", lambda d: d["runs"].pop()), "is not listed"),
    ("SUB-3", "closed", lambda r: edit_json(first(r, "result.json"), lambda d: d.update(eval_samples=1)),
     "result_sha256"),
    ("SUB-4", "closed", lambda r: (run_folders(r)[0].rename(run_folders(r)[0].with_name("run_7")),
                                   write_manifest(r)), "seed 0 but the folder says 7"),
    ("SUB-5", "closed", lambda r: edit_json(r / "submission.json", lambda d: d.update(division="open")),
     "division 'closed' in a 'open' submission"),
    ("SUB-5", "closed", log_value("submission_org", "someone-else"), "submission_org"),
    ("SYS-1", "closed", lambda r: next(r.glob("systems/*.json")).unlink(), "missing"),
    ("SYS-1", "closed", lambda r: edit_json(next(r.glob("systems/*.json")), lambda d: d.update(status="")),
     "required fields not filled: status"),
    ("SYS-2", "closed", lambda r: edit_json(next(r.glob("systems/*.json")),
                                            lambda d: d.update(embedding_backend="torchrec")), "ran torch on cpu"),
    ("SYS-2", "closed", lambda r: edit_json(next(r.glob("systems/*.json")), lambda d: d.update(precision="bf16")),
     "in fp32, but system"),
    ("FILE-1", "closed", symlink_in_run, "symbolic link"),
    ("FILE-1", "closed", manifest_escape, "leads outside"),
    ("FILE-1", "closed", lambda r: os.mkfifo(r / "systems" / "pipe.json"), "not a regular file"),
    ("FILE-2", "closed", lambda r: (r / "README.md").write_bytes(b"x" * (1 << 20 | 1)), "allowed"),
    ("FILE-3", "closed", lambda r: (r / "notes.txt").write_text("hi"), "unknown file"),
    ("FILE-3", "closed", lambda r: first(r, ".result.json.x1.tmp").write_text("{}"), "interrupted write"),
    ("LOG-1", "closed", garbage_line, "not :::MLLOG events"),
    ("LOG-1", "closed", lambda r: first(r, "mllog.txt").write_text(':::MLLOG {"key": "seed"}\n'), "missing field"),
    ("LOG-2", "closed", delete_event("seed"), "seed is missing"),
    ("LOG-2", "closed", log_value("global_batch_size", "1024"), "value must be int"),
    ("LOG-2", "closed", delete_event("recscale_precision"), "recscale_precision is missing"),
    ("LOG-2", "closed", log_value("recscale_staging_s", "slow"), "recscale_staging_s value must be number"),
    ("LOG-2", "aborted", delete_event("recscale_abort_reason"), "without recscale_abort_reason"),
    ("LOG-3", "closed", move_event("submission_org", "init_start"), "after init_start"),
    ("LOG-3", "closed", move_event("recscale_train_samples_per_s", "eval_start", 2), "belongs after run_stop"),
    ("LOG-4", "closed", delete_event("eval_stop", 1), "an evaluation is eval_start, eval_stop"),
    ("LOG-4", "closed", log_value("eval_accuracy", 0.1234, 2), "is not the ne of recscale_eval_metrics"),
    ("LOG-4", "diverged", log_value("recscale_pass_end", {"ne": 1.0, "logloss": 1.0, "auc": 0.5,
                                                          "calibration": 1.0}), "diverged run must be null"),
    ("LOG-4", "closed", lambda r: edit_events(first(r, "mllog.txt"), lambda ev: ev[-1]["metadata"].update(
        epoch_num=0.5)), "epoch_num must be 1"),
    ("LOG-2", "diverged_early", log_value("recscale_abort_reason", "target not reached"),
     "no evaluation (eval_accuracy)"),
    ("LOG-5", "closed", drop_first_evaluation, "eval_every is 0.25"),
    ("LOG-6", "closed", result_field("curve.2.auc", 0.99), "curve[2]"),
    ("LOG-6", "closed", result_field("samples_seen", 7), "samples_seen 7"),
    ("LOG-6", "closed", result_field("train_samples_per_s", 1.0), "train_samples_per_s"),
    ("LOG-6", "closed", result_field("staging_s", 9.0), "staging_s"),
    ("TIME-1", "closed", move_event("seed", "init_stop"), "outside initialisation"),
    ("TIME-1", "closed", move_event("recscale_staging_s", "run_start"), "recscale_staging_s is logged outside"),
    ("TIME-3", "aborted", swap_abort_and_stop, "must directly follow recscale_abort_reason"),
    ("TIME-4", "closed", time_back, "time_ms goes back"),
    ("TIME-4", "closed", result_field("time_to_target_s", 5.0), "time_to_target_s 5.0"),
    ("TIME-5", "aborted", stop_before_last_eval, "evaluation after the run_stop of an aborted run"),
    ("TIME-5", "closed", move_event("recscale_pass_end", "eval_start", 3), "must be the last event"),
    ("CLOSED-1", "closed", result_field("workload_version", 9), "at version 2 in workloads/smoke.yaml"),
    ("CLOSED-2", "closed", lambda r: edit_result(r, lambda d: d["overrides"].update({"data.fraction": 0.25})),
     "overrides differ"),
    ("CLOSED-3", "closed", respec(lambda s: s["training"]["optimizer"]["dense"].update(lr=0.5)),
     "differs at training.optimizer.dense.lr"),
    ("CLOSED-4", "closed", log_value("opt_base_learning_rate", 0.5), "opt_base_learning_rate is 0.5"),
    ("OPEN-1", "open", result_field("workload_version", 9), "at version 2 in workloads/smoke.yaml"),
    ("OPEN-2", "open", respec(lambda s: s["data"].update(eval_samples=100)), "data differs"),
    ("SUB-6", "closed", edit_copy(lambda text: text.replace("version: 2", "version: 3")), "version 3 here, 2 there"),
    ("SUB-6", "closed", edit_copy(lambda text: text.replace("lr: 0.05", "lr: 0.5", 1)),
     "the resolved spec of point"),
    ("SUB-6", "closed", edit_copy(lambda text: text + "\nnot_a_field: 1\n"), "not a valid workload"),
    ("SUB-6", "closed", edit_copy(lambda text: "a: [1\n"), "YAML syntax error"),
    ("SUB-6", "closed", rename_copy, "holds workload 'smoke'"),
    ("RUN-1", "closed", second_seed, "runs_per_point = 1"),
    ("RUN-2", "closed", log_value("seed", 5), "seed 0 but the log says 5"),
    ("RUN-3", "closed", unfinished_run, "did not finish"),
    ("RUN-5", "closed", result_field("params.top_mlp", 1), "params.top_mlp"),
    ("RUN-5", "closed", result_field("train_flops", 1.0), "train_flops"),
    ("CONV-1", "closed", result_field("quality.target", 0.5), "is not the spec's"),
    ("CONV-1", "aborted", reach_in_aborted, "yet the run says aborted"),
]


def case_id(case: tuple) -> str:
    return f"{case[0]}:{case[3][:30]}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_breaking_a_rule_reports_its_id(case, bases, tmp_path):
    rule, base, mutate, fragment = case
    root = tmp_path / "sub"
    shutil.copytree(bases[base], root, symlinks=True)
    mutate(root)
    report = check_submission(root, references=[])
    assert not report.passed
    assert rule in report.failed_rules(), [f.line() for f in report.errors]
    messages = [f.message for f in report.errors if f.rule == rule]
    assert any(fragment in m for m in messages), messages


@pytest.mark.parametrize("base", ["closed", "aborted", "open", "diverged", "diverged_early", "diverged_late"])
def test_the_valid_bases_pass(bases, base):
    report = check_submission(bases[base], references=[])
    assert report.passed, [f.line() for f in report.errors]
    assert {f.rule for f in report.notes} == ({"CONV-3"} if base != "open" else set())
    assert len(report.rules) == len(RULES) and all(r.passed for r in report.rules)


def test_every_machine_checked_rule_has_a_breaking_case():
    covered = {case[0] for case in CASES}
    assert covered >= set(RULES) - {"CONV-2", "CONV-3"}  # the band has its own tests (test_check_convergence)


def test_rule_catalogue_matches_rules_md():
    text = (REPO / "RULES.md").read_text()
    stated = dict(re.findall(r"^- \*\*([A-Z]+-\d+)\*\*( \*\((?:review|tools)\)\*)?", text, flags=re.M))
    machine = {rule for rule, review in stated.items() if not review and not rule.startswith(("MLP-", "SCORE-"))}
    assert machine == set(RULES)
    assert not (set(RULES) & {rule for rule, review in stated.items() if review})


def test_unknown_log_keys_are_notes(bases, tmp_path):
    root = tmp_path / "sub"
    shutil.copytree(bases["closed"], root)
    edit_events(first(root, "mllog.txt"), lambda ev: ev.insert(7, {**ev[7], "key": "vendor_extra", "value": 1}))
    report = check_submission(root, references=[])
    assert report.passed
    assert any(f.rule == "LOG-2" and "vendor_extra" in f.message for f in report.notes)


def test_findings_are_capped_per_file_and_rule(bases, tmp_path):
    root = tmp_path / "sub"
    shutil.copytree(bases["closed"], root)
    log = first(root, "mllog.txt")
    log.write_text(log.read_text() + ":::MLLOG {broken\n" * 50)
    report = check_submission(root, references=[])
    log1 = [f for f in report.errors if f.rule == "LOG-1"]
    assert len(log1) == 21 and "not shown" in log1[-1].message


def test_the_original_is_untouched_by_copying(bases):
    # guards the fixtures above: a mutation must never reach the shared bases
    assert check_submission(copy.copy(bases["closed"]), references=[]).passed
