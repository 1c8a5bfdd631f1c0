"""Edge cases for `recscale score` and `recscale report` (bench/bench_fault_campaign.py): empty
folders, one run, every run diverged or aborted, one point, mixed divisions, several systems,
one bad submission among good ones, odd --out places; and a few for `run` and `data` (a file where
a folder must be, a data set's manifest that cannot be read). Each names the exit codes it may end
with and what the output must say; none may end in a traceback, hang or write outside its --out.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from submission_factory import edit_json, make_submission

from recscale.load import load_points

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "workloads" / "smoke.yaml"
TINY = str(REPO / "tests" / "fixtures" / "workloads" / "tiny.yaml")
FAST = ["--no-references", "--bootstrap", "50"]  # fits are not what is tested: fewer resamples


@dataclass(frozen=True)
class Edge:
    name: str
    build: Callable[[Path], list[str]]  # makes the inputs under the case folder; returns the argv
    codes: frozenset[int]
    says: tuple[str, ...] = ()  # fragments the output must hold
    unprivileged: bool = False
    writes: tuple[str, ...] = ("out",)  # where under the case folder the command may write


def smoke_points() -> list[str]:
    return [p.point_id for p in load_points(SMOKE)[1]]


def score(root: str = "root", *extra: str) -> list[str]:
    return ["score", root, "--out", "out", *FAST, *extra]


def report(sub: str = "root/a") -> list[str]:
    return ["report", sub, "--out", "out", *FAST]


def _never(point: object, seed: int) -> None:
    return None


def _at_once(point: object, seed: int) -> int:
    return 0


def _sub(case: Path, name: str = "a", **options: object) -> Path:
    return make_submission(case / "root" / name, **options)  # type: ignore[arg-type]


def _with(make: Callable[[Path], object], argv: list[str]) -> Callable[[Path], list[str]]:
    def build(case: Path) -> list[str]:
        make(case)
        return argv
    return build


def _mixed(case: Path) -> None:
    _sub(case, "closed")
    _sub(case, "open", division="open", submitter="open-org")


def _two_systems(case: Path) -> None:
    _sub(case, "a")
    _sub(case, "a", system="second-cpu")


def _nul_path(case: Path) -> None:
    _sub(case, "good")
    bad = _sub(case, "bad")
    edit_json(bad / "submission.json", lambda doc: doc["runs"][0].update(path="results/\u0000x"))


def _failing(case: Path) -> None:
    _sub(case, "good")
    bad = _sub(case, "bad")
    (bad / "notes.txt").write_text("not part of a submission")


def _twice(case: Path) -> None:
    shutil.copytree(_sub(case, "a"), case / "root" / "b")


def _nested(case: Path) -> None:
    _sub(case, "group/a")
    _sub(case, "b", submitter="other-org")


def _leaderboard_inside(case: Path) -> None:
    _sub(case, "a")
    (case / "root" / "leaderboard").mkdir()
    (case / "root" / "leaderboard" / "leaderboard.json").write_text("{}")


def _linked(case: Path) -> None:
    make_submission(case / "elsewhere")
    (case / "root").mkdir()
    os.symlink(case / "elsewhere", case / "root" / "a")


def _unreadable(case: Path) -> None:
    _sub(case, "good")
    bad = _sub(case, "bad")
    os.chmod(bad / "results", 0)


def _a_file(case: Path) -> None:
    (case / "afile").write_text("x")


def _manifest(text: str | None = None, mode: int | None = None, folder: bool = False) -> Callable[[Path], None]:
    """A data set folder `ds` whose manifest.json holds `text`, has `mode`, or is a folder."""
    def make(case: Path) -> None:
        (case / "ds").mkdir()
        if folder:
            (case / "ds" / "manifest.json").mkdir()
            return
        (case / "ds" / "manifest.json").write_text(text or "{}")
        if mode is not None:
            os.chmod(case / "ds" / "manifest.json", mode)
    return make


def _two_workloads(case: Path) -> None:
    root = _sub(case, "a")
    make_submission(root, REPO / "workloads" / "study-embedding-dim.yaml")


EDGES: list[Edge] = [
    Edge("score-empty-root", _with(lambda c: (c / "root").mkdir(), score()), frozenset({2}), ("root",)),
    Edge("score-empty-submission-folder", _with(lambda c: (c / "root" / "a").mkdir(parents=True), score()),
         frozenset({2}), ("root",)),
    Edge("score-not-a-folder", _with(lambda c: (c / "root").write_text("x"), score()), frozenset({2}), ("root",)),
    Edge("score-one-run", _with(lambda c: _sub(c, points=smoke_points()[:1]), score()), frozenset({0}),
         ("scored   a",)),
    Edge("report-one-run", _with(lambda c: _sub(c, points=smoke_points()[:1]), report()), frozenset({0}), ("wrote",)),
    Edge("score-all-diverged-closed", _with(lambda c: _sub(c, reach=_never, diverge=_at_once), score()),
         frozenset({0}), ("scored   a",)),
    Edge("report-all-diverged-closed", _with(lambda c: _sub(c, reach=_never, diverge=_at_once), report()),
         frozenset({0}), ("wrote",)),
    Edge("score-all-diverged-open", _with(lambda c: _sub(c, division="open", reach=_never, diverge=_at_once),
                                          score()), frozenset({0}), ("scored   a",)),
    Edge("report-all-diverged-open", _with(lambda c: _sub(c, division="open", reach=_never, diverge=_at_once),
                                           report()), frozenset({0}), ("wrote",)),
    Edge("score-all-aborted", _with(lambda c: _sub(c, reach=_never), score()), frozenset({0}), ("scored   a",)),
    Edge("report-all-aborted", _with(lambda c: _sub(c, reach=_never), report()), frozenset({0}), ("wrote",)),
    Edge("score-single-point-open", _with(lambda c: _sub(c, division="open", points=smoke_points()[:1]), score()),
         frozenset({0}), ("scored   a",)),
    Edge("score-partial-points", _with(lambda c: _sub(c, points=smoke_points()[:2]), score()), frozenset({0}),
         ("scored   a",)),
    Edge("score-mixed-divisions", _with(_mixed, score()), frozenset({0}), ("scored   closed", "scored   open")),
    Edge("score-two-systems", _with(_two_systems, score()), frozenset({0}), ("scored   a",)),
    Edge("report-two-systems", _with(_two_systems, report()), frozenset({0}), ("wrote",)),
    Edge("report-two-workloads", _with(_two_workloads, report()), frozenset({0}), ("wrote",)),
    Edge("score-nul-in-manifest-path", _with(_nul_path, score()), frozenset({0}), ("scored   good", "skipped  bad")),
    Edge("score-one-failing-one-good", _with(_failing, score()), frozenset({0}), ("scored   good", "skipped  bad")),
    Edge("score-unreadable-and-good", _with(_unreadable, score()), frozenset({0}), ("scored   good", "skipped  bad"),
         unprivileged=True),
    Edge("score-same-submission-twice", _with(_twice, score()), frozenset({0}), ("scored   a", "scored   b")),
    Edge("score-nested-folders", _with(_nested, score()), frozenset({0}), ("scored   group/a", "scored   b")),
    Edge("score-root-is-a-submission", _with(lambda c: _sub(c), score("root/a")), frozenset({0}), ("scored   a",)),
    Edge("score-old-leaderboard-in-root", _with(_leaderboard_inside, score()), frozenset({0}), ("scored   a",)),
    Edge("score-linked-submission", _with(_linked, score()), frozenset({0, 2}), ("a",)),
    Edge("score-out-is-a-file", _with(lambda c: (_sub(c), (c / "out").write_text("x")), score()), frozenset({2}),
         ("out",)),
    Edge("score-out-inside-root", _with(lambda c: _sub(c), ["score", "root", "--out", "root/out", *FAST]),
         frozenset({0}), ("scored   a",), writes=("root/out",)),
    Edge("report-out-inside-submission", _with(lambda c: _sub(c), ["report", "root/a", "--out", "root/a/report",
                                                                    *FAST]), frozenset({0}), ("wrote",),
         writes=("root/a/report",)),
    Edge("report-empty-folder", _with(lambda c: (c / "root" / "a").mkdir(parents=True), report()),
         frozenset({1}), ("root/a", "SUB-1")),
    Edge("report-out-is-a-file", _with(lambda c: (_sub(c), (c / "out").write_text("x")), report()), frozenset({2}),
         ("out",)),
    Edge("report-out-under-a-file", _with(lambda c: (_sub(c), (c / "out").write_text("x")),
                                          ["report", "root/a", "--out", "out/x", *FAST]), frozenset({2}), ("out",)),
    Edge("report-on-a-file", _with(lambda c: (c / "root").mkdir() or (c / "root" / "a").write_text("x"), report()),
         frozenset({2}), ("root/a",)),
    Edge("run-data-root-a-file", _with(_a_file, ["run", TINY, "--submission", "sub", "--data-root", "afile",
                                                 "--backend", "torch", "--no-progress"]), frozenset({2}),
         ("--data-root", "afile")),
    Edge("run-data-root-under-a-file", _with(_a_file, ["run", TINY, "--submission", "sub", "--data-root", "afile/d",
                                                       "--backend", "torch", "--no-progress"]), frozenset({2}),
         ("--data-root",)),
    Edge("data-info-on-a-file", _with(_a_file, ["data", "info", "afile"]), frozenset({2}), ("not a data set",)),
    Edge("data-verify-on-a-file", _with(_a_file, ["data", "verify", "afile"]), frozenset({2}), ("not a data set",)),
    Edge("data-info-missing", _with(lambda c: None, ["data", "info", "nowhere"]), frozenset({2}), ("nowhere",)),
    Edge("data-verify-manifest-5000-digits", _with(_manifest('{"a": ' + "1" * 5000 + "}"), ["data", "verify", "ds"]),
         frozenset({2}), ("ds/manifest.json",)),
    Edge("data-verify-manifest-1e999", _with(_manifest('{"a": 1e999}'), ["data", "verify", "ds"]), frozenset({2}),
         ("ds/manifest.json",)),
    Edge("data-info-manifest-unreadable", _with(_manifest(mode=0), ["data", "info", "ds"]), frozenset({2}),
         ("ds/manifest.json",), unprivileged=True),
    Edge("data-info-manifest-a-folder", _with(_manifest(folder=True), ["data", "info", "ds"]), frozenset({2}),
         ("ds/manifest.json",)),
    Edge("score-missing-mlperf", _with(lambda c: None, ["score", "--mlperf", "nowhere", "--out", "out"]),
         frozenset({2}), ("nowhere",)),
    Edge("score-nothing-given", _with(lambda c: None, ["score", "--out", "out"]), frozenset({2}), ("--mlperf",)),
]
