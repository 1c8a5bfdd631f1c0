"""The corruptions of a valid submission that the fault campaign gives to `recscale check`, `score`
and `report` (bench/bench_fault_campaign.py): files deleted, truncated, damaged and duplicated;
JSON types changed; numbers too large, NaN; links, permissions, extra files, empty folders; runs
relabelled as other seeds; spec values and hashes edited. Each names the rules of which `recscale
check` must report at least one (RULES.md); a few controls change nothing a rule forbids and must pass.
The edits themselves are in bench/fault_edits.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import fault_edits as e
from submission_factory import edit_json, index_of


@dataclass(frozen=True)
class Corruption:
    name: str
    change: Callable[[Path], None]
    rules: frozenset[str]  # `recscale check` must report one of these; empty: a control that must pass
    kind: str
    unprivileged: bool = False  # run the commands without root's power to ignore file permissions

    @property
    def control(self) -> bool:
        return not self.rules


def _c(kind: str, name: str, rules: str, change: Callable[[Path], None], unprivileged: bool = False) -> Corruption:
    return Corruption(f"{kind}-{name}", change, frozenset(rules.split()), kind, unprivileged)


RES, LOG, MAN, SYS = e.result, e.mllog, e.manifest, e.system_file
COPY = e.workload_copy
SYSTEMS = lambda root: root / "systems"  # noqa: E731 (a name for a path maker, as RES and LOG are)
METRICS_NAN = '{"ne": NaN, "logloss": 1.0, "auc": 0.5, "calibration": 1.0}'

CORRUPTIONS: list[Corruption] = [
    # files deleted
    _c("delete", "manifest", "SUB-1", e.rm(MAN)),
    _c("delete", "result", "RUN-3", e.rm(RES)),
    _c("delete", "mllog", "SUB-1", e.rm(LOG)),
    _c("delete", "system", "SYS-1", e.rm(SYS)),
    _c("delete", "systems-folder", "SYS-1", e.rm(lambda r: r / "systems")),
    _c("delete", "run-folder", "SUB-3 RUN-1", e.rm(e.run)),
    _c("delete", "point-folder", "SUB-3", e.rm(e.first_point)),
    _c("delete", "results", "SUB-1", e.rm(lambda r: r / "results")),
    _c("delete", "workload-copy", "CLOSED-1", e.rm(COPY)),
    # truncated
    _c("truncate", "result-half", "SUB-2", e.truncate(RES, 0.5)),
    _c("truncate", "result-empty", "SUB-2", e.truncate(RES, 0)),
    _c("truncate", "result-1-byte", "SUB-2", e.cut_bytes(RES, 2)),
    _c("truncate", "mllog-half", "LOG-1", e.truncate(LOG, 0.5)),
    _c("truncate", "mllog-empty", "LOG-1 LOG-2", e.truncate(LOG, 0)),
    _c("truncate", "mllog-mid-line", "LOG-1", e.cut_bytes(LOG, 10)),
    _c("truncate", "mllog-last-event", "LOG-2", e.events(lambda ev: ev[:-1])),
    _c("truncate", "manifest-half", "SUB-2", e.truncate(MAN, 0.5)),
    _c("truncate", "system-half", "SUB-2", e.truncate(SYS, 0.5)),
    _c("truncate", "workload-copy-half", "SUB-6 CLOSED-1 CLOSED-3", e.truncate(COPY, 0.5)),
    # damaged bytes and digits
    _c("flip", "result-byte-30%", "SUB-2", e.flip(RES, 0.3, 0x80)),
    _c("flip", "result-byte-60%", "SUB-2", e.flip(RES, 0.6, 0x80)),
    _c("flip", "result-byte-90%", "SUB-2", e.flip(RES, 0.9, 0x80)),
    _c("flip", "mllog-byte-30%", "LOG-1", e.flip(LOG, 0.3, 0x80)),
    _c("flip", "mllog-byte-70%", "LOG-1", e.flip(LOG, 0.7, 0x80)),
    _c("flip", "manifest-byte", "SUB-2", e.flip(MAN, 0.5, 0x80)),
    _c("flip", "system-byte", "SUB-2", e.flip(SYS, 0.5, 0x80)),
    _c("flip", "result-samples-digit", "LOG-6 SUB-3", e.flip_digit(RES, '"samples_seen": ')),
    _c("flip", "result-speed-digit", "LOG-6 SUB-3", e.flip_digit(RES, '"train_samples_per_s": ')),
    _c("flip", "result-run-time-digit", "TIME-4 SUB-3", e.flip_digit(RES, '"run_time_s": ')),
    _c("flip", "mllog-accuracy-digit", "LOG-4 LOG-6", e.flip_digit(LOG, '"key": "eval_accuracy", "value": ')),
    _c("flip", "manifest-sha-char", "SUB-3", e.flip_sha),
    _c("flip", "manifest-seed-digit", "SUB-3", e.flip_digit(MAN, '"seed": ')),
    # duplicated
    _c("duplicate", "mllog-line", "LOG-4 LOG-2", e.events(lambda ev: ev.insert(index_of(ev, "eval_accuracy"),
                                                                             ev[index_of(ev, "eval_accuracy")]))),
    _c("duplicate", "evaluation", "LOG-4 LOG-5 LOG-6 TIME-4", e.events(e.duplicate_evaluation)),
    _c("duplicate", "run-folder-same-seed", "SUB-4 RUN-2",
       lambda r: shutil.copytree(e.run(r), e.run(r).with_name("run_9"))),
    _c("duplicate", "manifest-entry", "SUB-3", lambda r: edit_json(r / "submission.json",
                                                                    lambda d: d["runs"].append(d["runs"][0]))),
    _c("duplicate", "result-key", "SUB-2", e.duplicate_key(RES, "seed", "5")),
    _c("duplicate", "manifest-key", "SUB-2", e.duplicate_key(MAN, "division", '"open"')),
    _c("duplicate", "workload-copy", "SUB-6", lambda r: shutil.copyfile(COPY(r), COPY(r).with_name("other.yaml"))),
    _c("duplicate", "run-start", "LOG-2", e.events(e.second_run_start)),
    # JSON types changed
    *[_c("type", f"result-{field}-{label}", "SUB-2", e.in_result(lambda d, f=field, v=value: e.set_path(d, f, v)))
      for field, label, value in [("seed", "string", "0"), ("seed", "float", 0.5), ("seed", "bool", True),
                                  ("seed", "null", None), ("samples_seen", "negative", -1), ("curve", "null", None),
                                  ("curve", "object", {}), ("spec", "list", []), ("spec", "string", "x"),
                                  ("quality", "null", None), ("final", "string", "x"), ("status", "unknown", "done"),
                                  ("division", "unknown", "other"), ("run_time_s", "string", "1.0"),
                                  ("harness", "list", [])]],
    _c("type", "result-top-level-array", "SUB-2", lambda r: RES(r).write_text("[" + RES(r).read_text() + "]")),
    _c("type", "result-top-level-number", "SUB-2", lambda r: RES(r).write_text("42")),
    _c("type", "manifest-runs-object", "SUB-2", e.set_field(MAN, "runs", {})),
    _c("type", "manifest-seed-string", "SUB-2", e.set_field(MAN, "runs.0.seed", "0")),
    _c("type", "system-nodes-number", "SUB-2", e.set_field(SYS, "number_of_nodes", 1)),
    _c("type", "log-batch-string", "LOG-2", e.log_value("global_batch_size", "512")),
    _c("type", "log-seed-float", "LOG-2", e.log_value("seed", 0.0)),
    _c("type", "log-accuracy-string", "LOG-2 LOG-4", e.log_value("eval_accuracy", "0.9")),
    _c("type", "log-time-string", "LOG-1", e.events(lambda ev: ev[3].update(time_ms="123"))),
    _c("type", "log-metadata-list", "LOG-1", e.events(lambda ev: ev[3].update(metadata=[]))),
    _c("type", "log-key-number", "LOG-1", e.events(lambda ev: ev[3].update(key=5))),
    _c("type", "log-event-type", "LOG-1", e.events(lambda ev: ev[3].update(event_type="POINT"))),
    _c("type", "log-line-array", "LOG-1", e.raw_line(":::MLLOG [1, 2]")),
    # numbers too large
    _c("huge", "spec-lr-1e999", "SUB-2", e.raw_field(RES, "spec.training.optimizer.dense.lr", "1e999")),
    _c("huge", "spec-lr-neg-1e999", "SUB-2", e.raw_field(RES, "spec.training.optimizer.dense.lr", "-1e999")),
    _c("huge", "run-time-1e999", "SUB-2", e.raw_field(RES, "run_time_s", "1e999")),
    _c("huge", "seed-5000-digits", "SUB-2", e.raw_field(RES, "seed", "7" * 5000)),
    _c("huge", "seed-2^64", "SUB-2 SUB-4 RUN-2", e.in_result(lambda d: d.update(seed=2**64))),
    _c("huge", "samples-10^30", "SUB-2 LOG-6", e.in_result(lambda d: d.update(samples_seen=10**30))),
    _c("huge", "elapsed-1e308", "TIME-4 LOG-6", e.in_result(lambda d: e.set_path(d, "curve.0.elapsed_s", 1e308))),
    _c("huge", "spec-batch-400-digits", "SUB-2 CLOSED-3", e.respec("training.batch_size", 10**400)),
    _c("huge", "spec-lr-1e308", "CLOSED-3", e.respec("training.optimizer.dense.lr", 1e308)),
    _c("huge", "log-time-1e999", "LOG-1", lambda r: LOG(r).write_text(LOG(r).read_text().replace(
        '"time_ms": ', '"time_ms": 1e999, "x": ', 1))),
    _c("huge", "log-accuracy-1e308", "LOG-4 LOG-2", e.log_value("eval_accuracy", 1e308)),
    _c("huge", "log-seed-5000-digits", "LOG-1", e.log_value("seed", None, raw="7" * 5000)),
    _c("huge", "bayes-1e400", "SUB-2", e.raw_field(RES, "bayes.ne", "1e400")),
    _c("huge", "bayes-negative", "SUB-2 LOG-6", e.in_result(lambda d: e.set_path(d, "bayes.ne", -5.0))),
    _c("huge", "train-flops-1e308", "RUN-5", e.in_result(lambda d: d.update(train_flops=1e308))),
    _c("huge", "manifest-seed-10^30", "SUB-2 SUB-3", e.set_field(MAN, "runs.0.seed", 10**30)),
    # NaN and Infinity
    _c("nan", "result-final", "SUB-2", e.raw_field(RES, "final.ne", "NaN")),
    _c("nan", "result-infinity", "SUB-2", e.raw_field(RES, "run_time_s", "Infinity")),
    _c("nan", "result-minus-infinity", "SUB-2", e.raw_field(RES, "pass_time_s", "-Infinity")),
    _c("nan", "log-accuracy", "LOG-1 LOG-2 LOG-4", e.log_value("eval_accuracy", None, raw="NaN")),
    _c("nan", "log-metrics", "LOG-1 LOG-2", e.log_value("recscale_eval_metrics", None, raw=METRICS_NAN)),
    _c("nan", "manifest", "SUB-2", e.raw_field(MAN, "runs.0.seed", "NaN")),
    _c("nan", "system", "SUB-2", e.raw_field(SYS, "number_of_nodes", "-Infinity")),
    # links
    _c("link", "result-outside", "FILE-1", e.symlink_to(RES, e.outside_copy(RES))),
    _c("link", "run-folder-outside", "FILE-1", e.symlink_to(e.run, e.outside_copy(e.run))),
    _c("link", "systems-outside", "FILE-1", e.symlink_to(SYSTEMS, e.outside_copy(SYSTEMS))),
    _c("link", "manifest-etc-passwd", "FILE-1", e.symlink_to(MAN, lambda r: Path("/etc/passwd"))),
    _c("link", "mllog-dev-zero", "FILE-1", e.symlink_to(LOG, lambda r: Path("/dev/zero"))),
    _c("link", "loop", "FILE-1", e.loop_link),
    _c("link", "workload-copy-outside", "FILE-1", e.symlink_to(COPY, e.outside_copy(COPY))),
    # permissions (the commands run without root's power to ignore them)
    _c("permission", "result-000", "FILE-1 SUB-1", e.chmod(RES, 0), unprivileged=True),
    _c("permission", "mllog-000", "FILE-1 SUB-1", e.chmod(LOG, 0), unprivileged=True),
    _c("permission", "run-folder-000", "SUB-1", e.chmod(e.run, 0), unprivileged=True),
    _c("permission", "systems-000", "SUB-1 SYS-1", e.chmod(lambda r: r / "systems", 0), unprivileged=True),
    _c("permission", "manifest-000", "FILE-1 SUB-1", e.chmod(MAN, 0), unprivileged=True),
    _c("permission", "workload-copy-000", "FILE-1 SUB-6 CLOSED-1", e.chmod(COPY, 0), unprivileged=True),
    _c("permission", "results-000", "SUB-1", e.chmod(lambda r: r / "results", 0o311), unprivileged=True),
    # extra files
    _c("extra", "root-notes", "FILE-3", e.write("notes.txt", b"hi")),
    _c("extra", "root-dotfile", "FILE-3", e.write(".DS_Store", b"\0")),
    _c("extra", "run-notes", "FILE-3", e.in_run("notes.txt", b"hi")),
    _c("extra", "results-file", "FILE-3", e.write("results/notes.txt", b"hi")),
    _c("extra", "folder-in-run", "FILE-3", lambda r: (e.run(r) / "extra").mkdir()),
    _c("extra", "tmp-leftover", "FILE-3", e.in_run(".result.json.x1.tmp", b"{}")),
    _c("extra", "lock-file", "FILE-3", e.write(".recscale-run.lock", b'{"pid": 1}')),
    _c("extra", "oversized-mllog", "FILE-2", e.big_log),
    _c("extra", "oversized-readme", "FILE-2", e.write("README.md", b"x" * (2 << 20))),
    _c("extra", "fifo", "FILE-1", lambda r: os.mkfifo(e.run(r) / "pipe")),
    _c("extra", "socket", "FILE-1", e.socket_in(lambda r: r / "systems")),
    # empty folders
    _c("empty", "system-folder", "SUB-1", lambda r: (r / "results" / "ghost").mkdir()),
    _c("empty", "workload-folder", "SUB-1", lambda r: (e.run(r).parent.parent.parent / "ghost").mkdir()),
    _c("empty", "point-folder", "SUB-1", lambda r: (e.run(r).parent.parent / "data.fraction=0.25").mkdir()),
    _c("empty", "run-folder", "RUN-3", lambda r: e.run(r).with_name("run_7").mkdir()),
    # runs relabelled as other seeds
    _c("relabel", "rename-folder", "SUB-4", e.rename_run),
    _c("relabel", "swap-seed-folders", "SUB-4", e.swap_seed_folders),
    _c("relabel", "copy-over-second-seed", "RUN-2", e.relabel_over_second_seed),
    _c("relabel", "copy-as-new-seed", "RUN-2", e.relabel_as_new_seed),
    _c("relabel", "copy-to-other-system", "RUN-2", e.relabel_to_other_system),
    _c("relabel", "result-seed-only", "SUB-4 RUN-2", e.in_result(lambda d: d.update(seed=1))),
    _c("relabel", "log-seed-only", "RUN-2", e.log_value("seed", 1)),
    # spec values edited
    _c("spec", "lr", "CLOSED-3", e.in_result(lambda d: e.set_path(d, "spec.training.optimizer.dense.lr", 0.5))),
    _c("spec", "lr-rehashed", "CLOSED-3", e.respec("training.optimizer.dense.lr", 0.5)),
    _c("spec", "eval-every-rehashed", "CLOSED-3", e.respec("training.eval_every", 0.5)),
    _c("spec", "target-rehashed", "CLOSED-3", e.respec("quality.target", 0.5)),
    _c("spec", "runs-per-point-rehashed", "CLOSED-3", e.respec("runs_per_point", 1)),
    _c("spec", "unknown-field-rehashed", "CLOSED-3", e.respec("extra", 1)),
    _c("spec", "log-batch-size", "CLOSED-4", e.log_value("global_batch_size", 256)),
    _c("spec", "log-lr", "CLOSED-4", e.log_value("opt_base_learning_rate", 0.5)),
    _c("spec", "quality-target", "CONV-1", e.in_result(lambda d: e.set_path(d, "quality.target", 0.5))),
    _c("spec", "overrides", "CLOSED-2", e.in_result(lambda d: d["overrides"].update({"data.fraction": 0.25}))),
    _c("spec", "point-id", "SUB-4", e.in_result(lambda d: d.update(point_id="data.fraction=0.25"))),
    _c("spec", "workload-version", "CLOSED-1", e.in_result(lambda d: d.update(workload_version=9))),
    _c("spec", "copy-lr", "SUB-6 CLOSED-3", e.edit_copy("lr: 0.05", "lr: 0.5")),
    _c("spec", "copy-version", "SUB-6 CLOSED-1", e.edit_copy("version: 1", "version: 2")),
    _c("spec", "copy-python-tag", "SUB-6 CLOSED-1", e.python_tag),
    _c("spec", "copy-alias-bomb", "SUB-6 CLOSED-1", e.alias_bomb),
    _c("spec", "copy-not-utf8", "SUB-6 CLOSED-1", e.not_utf8),
    # hashes that do not match
    _c("hash", "manifest-zero", "SUB-3", e.manifest_entry(0, result_sha256="0" * 64)),
    _c("hash", "manifest-other-run", "SUB-3", e.other_sha),
    _c("hash", "result-spec-sha", "CLOSED-3 LOG-6", e.in_result(lambda d: d.update(spec_sha256="0" * 64))),
    _c("hash", "log-spec-sha", "CLOSED-4 LOG-6", e.log_value("recscale_spec_sha256", "0" * 64)),
    _c("hash", "result-edited-manifest-stale", "SUB-3",
       lambda r: edit_json(RES(r), lambda d: d.update(eval_samples=1))),
    # manifest entries
    _c("manifest", "absolute-path", "FILE-1", e.manifest_entry(0, path="/etc")),
    _c("manifest", "dotdot-path", "FILE-1", e.manifest_entry(0, path="../../etc")),
    _c("manifest", "nul-path", "FILE-1 SUB-2", e.manifest_entry(0, path="results/\u0000x")),
    _c("manifest", "no-runs", "SUB-3", e.set_field(MAN, "runs", [])),
    _c("manifest", "submitter", "SUB-5", e.set_field(MAN, "submitter", "someone-else")),
    _c("manifest", "division", "SUB-5", e.set_field(MAN, "division", "open")),
    _c("manifest", "paths-swapped", "SUB-3", e.swap_manifest_paths),
    _c("manifest", "status", "SUB-3", e.manifest_entry(0, status="aborted")),
    # system descriptions
    _c("system", "division", "SYS-2", e.set_field(SYS, "division", "open")),
    _c("system", "submitter", "SYS-2", e.set_field(SYS, "submitter", "someone-else")),
    _c("system", "required-empty", "SYS-1", e.set_field(SYS, "host_processor_model_name", " ")),
    _c("system", "backend", "SYS-2", e.set_field(SYS, "embedding_backend", "torchrec")),
    # logs
    _c("log", "evaluations-swapped", "LOG-4", e.events(e.shuffle_evaluations)),
    _c("log", "run-stop-deleted", "LOG-2", e.events(lambda ev: ev.pop(index_of(ev, "run_stop")))),
    _c("log", "garbage-line", "LOG-1", e.raw_line("Traceback (most recent call last):")),
    _c("log", "time-back", "TIME-4", e.events(e.time_back)),
    _c("log", "bom", "LOG-1", lambda r: LOG(r).write_bytes(b"\xef\xbb\xbf" + LOG(r).read_bytes())),
    _c("log", "nul-byte", "LOG-1", e.bytes_at(LOG, 0.5, b"\0")),
    _c("log", "pass-end-early", "LOG-3 TIME-5 LOG-4", e.events(e.pass_end_early)),
    # names
    _c("name", "non-utf8-folder", "SUB-1 FILE-3", e.non_utf8_folder),
    _c("name", "point-with-newline", "SUB-4 FILE-3 SUB-3", e.point_with_newline),
]

CONTROLS: list[Corruption] = [
    Corruption("control-readme", e.write("README.md", b"# notes\n"), frozenset(), "control"),
    Corruption("control-report-folder", e.write("report/README.md", b"# report\n"), frozenset(), "control"),
    Corruption("control-unused-system", lambda r: shutil.copyfile(SYS(r), SYS(r).with_name("spare.json")),
               frozenset(), "control"),
    Corruption("control-unknown-log-key", e.unknown_log_key, frozenset(), "control"),
    Corruption("control-read-only", e.read_only, frozenset(), "control", unprivileged=True),
]

BY_NAME = {c.name: c for c in CORRUPTIONS + CONTROLS}
assert len(BY_NAME) == len(CORRUPTIONS) + len(CONTROLS), "corruption names are unique"
