"""MLPerf parity on the published rounds: RecScale's reader against mlperf-logging's result summarizer.

For every system of every given round that has ``dlrm_dcnv2`` results, scores it twice: with RecScale
(``harness.mlperf_results``: ``read_mlperf_package`` + ``score_system``) and with the oracle of
tests/test_mlperf_parity.py (mlperf-logging's own ``summarize_results`` on a copy holding that one
system, and ``_compute_strong_score_standalone`` for the words of a refusal). A system is *equal* when
both score it within 1e-4 minutes, *refused* when neither scores it for the same reason (the summarizer
stops / skips the system / too many non-converging runs / no run left for the olympic mean), and a
*disagreement* otherwise. Prints one table per round (max |diff|: the largest difference between the two
scores over the systems both score), totals and the wall time; exits 1 on any disagreement.

Compared: the time-to-train score. RecScale does not read ``power/`` (RULES.md, MLPerf appendix), so
the oracle's copy leaves it out too. With it kept, the summarizer's energy step raised on v4.0's
smc-ac-power and smc-dc-power systems (their ``power_measurement_start`` and ``_stop`` share one
time_ms: ZeroDivisionError), which would have counted as disagreements about a score RecScale does
not compute.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_mlperf_parity.py ROUND [ROUND ...]

A ROUND is an extracted round folder (``training_results_v4.0``) or a bare mirror of its repository
(``/work/.mirror/mlcommons+training_results_v4.0/repo``); the round is read from that name. Only
``*/results/*/dlrm_dcnv2/**`` and ``*/systems/*.json`` are copied, into a temporary folder; a system
with a file whose blob the mirror lacks is left out of both sides and counted as *absent*.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from test_mlperf_parity import oracle, summarize  # noqa: E402  (the oracle the parity tests use)

from harness.mlperf_results.package import read_mlperf_package  # noqa: E402
from harness.mlperf_results.rounds import round_from_path, ruleset_of  # noqa: E402
from harness.mlperf_results.summarizer import SystemScore, score_system  # noqa: E402

BENCHMARK = "dlrm_dcnv2"
TOLERANCE = 1e-4  # minutes
# the files compared: results/<system>/dlrm_dcnv2/** and systems/<system>.json of each submitter
WANTED = re.compile(rf"^([^/]+)/(?:results/([^/]+)/{BENCHMARK}/.+|systems/([^/]+)\.json)$")
# RecScale's reasons (harness.mlperf_results.summarizer) by the summarizer outcome they stand for;
# any other reason is something on which the summarizer raises ("stops").
OUR_KINDS = (("is missing: the summarizer skips", "skipped"), ("Too many non-converging runs", "too-many-dropped"),
             ("none left once the fastest", "none-left"), ("is not a finite number", "not-finite"))


@dataclass(frozen=True)
class Outcome:
    score: float | None
    kind: str  # scored, stops, skipped, too-many-dropped, none-left, not-finite
    detail: str = ""


@dataclass(frozen=True)
class Comparison:
    org: str
    system: str
    ours: Outcome
    theirs: Outcome

    @property
    def difference(self) -> float | None:
        if self.ours.score is None or self.theirs.score is None:
            return None
        return abs(self.ours.score - self.theirs.score)

    @property
    def verdict(self) -> str:
        if self.difference is not None:
            return "equal" if self.difference <= TOLERANCE else "disagree"
        same = self.ours.score is None and self.theirs.score is None and self.ours.kind == self.theirs.kind
        return "refused" if same else "disagree"


@dataclass
class Round:
    name: str  # training_results_v4.0
    source: str
    comparisons: list[Comparison]
    absent: list[str]  # org/system with a file the mirror lacks

    def count(self, verdict: str) -> int:
        return sum(c.verdict == verdict for c in self.comparisons)

    @property
    def max_difference(self) -> float:
        return max((d for c in self.comparisons if (d := c.difference) is not None), default=0.0)


def _git(git_dir: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], input=stdin, capture_output=True,
                          check=True).stdout


def _system_key(path: str) -> str | None:
    """``org/system`` for a wanted file of the tree, None for any other."""
    match = WANTED.match(path)
    return None if match is None else f"{match.group(1)}/{match.group(2) or match.group(3)}"


def extract_mirror(git_dir: Path, into: Path) -> tuple[str, list[str]]:
    """Write the wanted files of HEAD under `into`; (what was read, systems left out for an absent blob).

    ``git archive`` stops at the first absent blob anywhere in the tree, so blobs are read one by one.
    """
    entries = []  # (sha, path, org/system)
    for entry in _git(git_dir, "ls-tree", "-r", "-z", "HEAD").split(b"\0"):
        meta, _, path = entry.decode("utf-8", "surrogateescape").partition("\t")
        key = _system_key(path)
        if key is not None and meta.split()[1] == "blob":
            entries.append((meta.split()[2], path, key))
    batch = _git(git_dir, "cat-file", "--batch", stdin="".join(f"{sha}\n" for sha, _, _ in entries).encode())
    blobs, absent, at = [], set(), 0
    for _, path, key in entries:  # each answer: "<sha> blob <size>\n<data>\n" or "<sha> missing\n"
        header_end = batch.index(b"\n", at)
        header = batch[at:header_end].split()
        if header[1] == b"missing":
            absent.add(key)
            at = header_end + 1
            continue
        size = int(header[2])
        blobs.append((path, key, batch[header_end + 1:header_end + 1 + size]))
        at = header_end + 1 + size + 1
    for path, key, data in blobs:
        if key not in absent:
            (into / path).parent.mkdir(parents=True, exist_ok=True)
            (into / path).write_bytes(data)
    with_results = {key for _, path, key in entries if "/results/" in path}
    head = _git(git_dir, "rev-parse", "--short", "HEAD").decode().strip()
    return f"mirror HEAD {head}", sorted(absent & with_results)


def copy_folder(folder: Path, into: Path) -> tuple[str, list[str]]:
    for source in [*folder.glob(f"*/results/*/{BENCHMARK}"), *folder.glob("*/systems/*.json")]:
        target = into / source.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)
    return f"folder {folder}", []


def our_outcome(result: SystemScore) -> Outcome:
    if result.score is not None:
        return Outcome(result.score, "scored")
    reason = result.reason or ""
    kind = next((kind for text, kind in OUR_KINDS if text in reason), "stops")
    return Outcome(None, kind, reason)


def their_outcome(org_root: Path, system: str, ruleset: str, sandbox: Path) -> Outcome:
    """summarize_results on a copy holding only `system` (a raise there stops it only for this system).

    A copy, because its RCP step for closed-division systems rewrites or deletes ``scaling.json``.
    """
    root = sandbox / system
    shutil.copytree(org_root / "results" / system, root / "results" / system, ignore=shutil.ignore_patterns("power"))
    (root / "systems").mkdir()
    description = org_root / "systems" / f"{system}.json"
    if description.is_file():
        shutil.copy2(description, root / "systems" / description.name)
    try:
        table = summarize(root, ruleset)
    except Exception as err:  # what stops mlperf-logging's summarizer, whatever it is
        return Outcome(None, "stops", f"summarize_results raises {type(err).__name__}: {err}")
    if not table:
        return Outcome(None, "skipped", "summarize_results prints no row for the system")
    (score,) = table.values()
    if score is not None and not math.isnan(score):
        return Outcome(float(score), "scored" if math.isfinite(score) else "not-finite")
    _, _, _, printed = oracle(root / "results" / system / BENCHMARK, ruleset)
    too_many = [line for line in printed.splitlines() if "CRITICAL ERROR: Too many non-converging runs" in line]
    if too_many:
        return Outcome(None, "too-many-dropped", too_many[0])
    return Outcome(None, "none-left", "no score: no run left for the olympic average")


def compare_round(source: Path, workdir: Path) -> Round:
    round_text = round_from_path(source)
    ruleset = ruleset_of(round_text) if round_text else None
    if ruleset is None:
        raise SystemExit(f"{source}: the round is not in its name (training_results_v4.0)")
    name = f"training_results_{round_text}"
    into = workdir / name
    into.mkdir()
    is_mirror = (source / "HEAD").is_file() and (source / "objects").is_dir()
    described, absent = extract_mirror(source, into) if is_mirror else copy_folder(source, into)
    comparisons = []
    for org_root in sorted(p for p in into.iterdir() if (p / "results").is_dir()):
        package = read_mlperf_package(org_root, BENCHMARK, round_text)
        sandbox = workdir / "oracle" / name / org_root.name
        sandbox.mkdir(parents=True)
        for system in package.systems:
            theirs = their_outcome(org_root, system.name, ruleset, sandbox)
            comparisons.append(Comparison(org_root.name, system.name, our_outcome(score_system(package, system)),
                                          theirs))
    return Round(name, f"{described}, ruleset {ruleset}", comparisons, absent)


def _line(cells: list[object]) -> str:
    return "  " + "".join(f"{cell!s:>{w}}" for cell, w in zip(cells, (24, 9, 7, 12, 10, 10, 8), strict=True))


HEADER = ["round", "systems", "equal", "max |diff|", "refused", "disagree", "absent"]


def _row(label: str, rounds: list[Round]) -> list[object]:
    return [label, sum(len(r.comparisons) + len(r.absent) for r in rounds), sum(r.count("equal") for r in rounds),
            f"{max((r.max_difference for r in rounds), default=0.0):.1e}", sum(r.count("refused") for r in rounds),
            sum(r.count("disagree") for r in rounds), sum(len(r.absent) for r in rounds)]


def report(result: Round) -> None:
    print(f"\n{result.name} ({result.source})")
    print(_line(HEADER))
    print(_line(_row(result.name, [result])))
    for c in result.comparisons:
        if c.verdict != "equal":
            print(f"  {c.verdict:8} {c.org}/{c.system}")
            for side, outcome in (("RecScale:  ", c.ours), ("summarizer:", c.theirs)):
                score = "" if outcome.score is None else f" {outcome.score:.6f} min"
                print(f"           {side} {outcome.kind}{score} {outcome.detail}")
    for system in result.absent:
        print(f"  absent   {system}: a {BENCHMARK} file's blob is not in the mirror (not compared)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="+", type=Path, help="round folders or bare mirrors, named after the round")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    logging.disable(logging.WARNING)  # the summarizer's RCP step warns on the root logger for every run
    with tempfile.TemporaryDirectory(prefix="mlperf-parity-") as tmp:
        rounds = []
        for source in args.rounds:
            rounds.append(compare_round(source.resolve(), Path(tmp)))
            report(rounds[-1])
    print("\nall rounds")
    print(_line(HEADER))
    for result in rounds:
        print(_line(_row(result.name, [result])))
    print(_line(_row("total", rounds)))
    print(f"\nwall time {time.perf_counter() - started:.1f} s "
          f"(equal: |difference| <= {TOLERANCE} minutes; refused: by both, for the same reason)")
    return 1 if any(r.count("disagree") for r in rounds) else 0


if __name__ == "__main__":
    sys.exit(main())
