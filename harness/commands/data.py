"""Data commands: `recscale data generate | convert | verify | info | sources`."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from recscale.cardinalities import NAMED_CARDINALITIES
from recscale.errors import InputError, Problem
from recscale.load import load_points, resolve_workload
from recscale.sources import SOURCES, stored_sources
from reference.data.convert import convert, line_summary
from reference.data.generate import data_spec_key, is_current, materialise
from reference.data.manifest import check_files, read_manifest
from reference.data.npy import index_days


def cmd_generate(args: argparse.Namespace) -> int:
    spec, points = load_points(resolve_workload(args.workload))
    specs = {data_spec_key(p.spec.data)[0]: p.spec.data for p in points}
    synthetic = {key: data for key, data in specs.items() if SOURCES[data.source].generated}
    if not synthetic:
        raise InputError([Problem(args.workload, "data.source", f"{spec.id} reads stored data "
                                  f"({spec.data.source}): convert it with `recscale data convert`")])
    for key, data in synthetic.items():  # points sweeping a generator knob need one data set each
        folder = args.out if len(synthetic) == 1 else args.out / f"synthetic-{key}"
        if folder.exists() and any(folder.iterdir()) and not is_current(folder, data):
            raise InputError([Problem(str(folder), "", "exists and does not hold this workload's data set; "
                                      "choose a new --out")])
        materialise(data, folder, args.workers)
        manifest = read_manifest(folder)
        bayes = manifest.synthetic.bayes if manifest.synthetic else None
        print(f"{folder}: {manifest.train.rows:,} train + {manifest.eval.rows:,} eval rows"
              + (f"; Bayes-optimal eval NE {bayes.ne:.4f} (AUC {bayes.auc:.4f})" if bayes else ""))
    return 0


def _cardinalities(text: str | None, source: str) -> list[int]:
    """--cardinalities: a named set or c1,c2,...; by default the named set of the data source."""
    if text is None:
        text = SOURCES[source].cardinalities
        if text is None:
            raise InputError([Problem("--cardinalities", "", f"source {source!r} has no named vocabulary sizes: give "
                                      "them (a named set or c1,c2,...)")])
    if text in NAMED_CARDINALITIES:
        return list(NAMED_CARDINALITIES[text])
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise InputError([Problem("--cardinalities", "", f"{text!r} is neither a named set "
                                  f"({', '.join(NAMED_CARDINALITIES)}) nor a comma-separated list of sizes")])
    return values


def _days(text: str) -> list[int]:
    """'0-22' or '0,1,5' -> day numbers."""
    try:
        if "-" in text:
            first, last = (int(v) for v in text.split("-"))
            days = list(range(first, last + 1))
        else:
            days = [int(v) for v in text.split(",")]
    except ValueError:
        days = []
    if not days or min(days) < 0:
        raise InputError([Problem("--train-days", "", f"{text!r}: expected a range 0-22 or a list 0,1,2 of days")])
    return days


def _atomic_out(out: Path) -> Path:
    """A fresh temporary folder beside `out` (renamed onto it by _publish); out must be absent or empty."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError([Problem(str(out), "", "--out must be a new or empty folder")])
    blocking = next((p for p in out.parents if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise InputError([Problem(str(out), "", f"cannot create the folder: {blocking} is a file")])
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    except OSError as err:
        raise InputError([Problem(str(out), "", f"cannot create the folder: {err.strerror or err}")]) from None


def _publish(tmp: Path, out: Path) -> None:
    os.chmod(tmp, 0o755)
    if out.is_dir():
        out.rmdir()
    os.rename(tmp, out)


# Options that only one --format reads: given with another, they would be silently ignored.
_FORMAT_OPTIONS = {
    "eval_share": ("--eval-share", ("criteo-kaggle",)),
    "skip_bad_lines": ("--skip-bad-lines", ("criteo-kaggle", "criteo-1tb")),
    "workers": ("--workers", ("criteo-kaggle", "criteo-1tb")),
    "multi_hot": ("--multi-hot", ("torchrec-npy",)),
}
_NPY_DEFAULTS = {"train_days": ("--train-days", "0-22"), "eval_day": ("--eval-day", 23),
                 "eval_half": ("--eval-half", "first"), "cardinalities": ("--cardinalities", None),
                 "source": ("--source", "criteo_1tb")}


def check_convert_options(args: argparse.Namespace) -> None:
    """InputError for option values `convert` cannot use, or options the chosen format ignores."""
    problems = [Problem(flag, "", f"applies to {' and '.join(formats)} only, not {args.format}")
                for key, (flag, formats) in _FORMAT_OPTIONS.items()
                if getattr(args, key) not in (None, False) and args.format not in formats]
    if args.format != "torchrec-npy":
        problems += [Problem(flag, "", f"applies to torchrec-npy only, not {args.format}")
                     for key, (flag, default) in _NPY_DEFAULTS.items() if getattr(args, key) != default]
    if args.format == "torchrec-npy" and args.ids != "vocabulary":
        problems.append(Problem("--ids", "", "torchrec-npy keeps the ids as stored"))
    cpus = len(os.sched_getaffinity(0))
    if args.workers is not None and not 1 <= args.workers <= 4 * cpus:
        problems.append(Problem("--workers", "", f"must be from 1 to {4 * cpus} (4 per CPU), got {args.workers}"))
    if args.eval_day < 0:
        problems.append(Problem("--eval-day", "", f"must be a day number (0 or more), got {args.eval_day}"))
    if args.format == "torchrec-npy" and args.cardinality_cap is not None and args.cardinality_cap < 1:
        problems.append(Problem("--cardinality-cap", "", f"must be at least 1, got {args.cardinality_cap}"))
    if problems:
        raise InputError(problems)


def cmd_convert(args: argparse.Namespace) -> int:
    check_convert_options(args)
    if args.format == "torchrec-npy":
        cards = _cardinalities(args.cardinalities, args.source)
        if args.cardinality_cap:
            cards = [min(c, args.cardinality_cap) for c in cards]
        manifest = index_days(args.inputs[0], args.out, _days(args.train_days), args.eval_day, cards,
                              source=args.source, multi_hot=args.multi_hot, eval_half=args.eval_half)
        summary = f"{manifest.train.rows:,} train + {manifest.eval.rows:,} eval rows"
    else:
        if args.format == "criteo-kaggle" and len(args.inputs) != 1:
            raise InputError([Problem("criteo-kaggle", "", "give one train.txt")])
        tmp = _atomic_out(args.out)
        kind = "criteo_kaggle" if args.format == "criteo-kaggle" else "criteo_1tb"
        try:
            manifest = convert(kind, args.inputs, tmp, ids=args.ids, cap=args.cardinality_cap,
                               eval_share=args.eval_share, skip_bad=args.skip_bad_lines, workers=args.workers)
            _publish(tmp, args.out)
        except OSError as err:  # reading errors are InputErrors already: this is the output side
            raise InputError([Problem(str(args.out), "", f"cannot write the data set: {err.strerror or err}"
                                      + (f" ({err.filename})" if err.filename else ""))]) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        conv = manifest.conversion
        assert conv is not None  # convert() always records how it converted
        summary = line_summary(kind, conv.lines, manifest.train.rows, manifest.eval.rows, conv.skipped_lines)
    print(f"{args.out}: {summary}; {len(manifest.cardinalities)} features "
          f"(max cardinality {max(manifest.cardinalities):,})")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    for folder in args.folders:
        manifest = read_manifest(folder)
        check_files(folder, manifest, "all")
        files = manifest.array_files()
        print(f"ok  {folder}: {len(files)} files, {sum(f.bytes for f in files) / 1e9:.3f} GB, "
              "sizes, shapes and sha256 match the manifest")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    manifest = read_manifest(args.folder)
    print(f"source        {manifest.source} (created {manifest.created_at}, recscale {manifest.recscale_version})")
    print(f"rows          {manifest.train.rows:,} train in {len(manifest.train.shards)} shard(s), "
          f"{manifest.eval.rows:,} eval")
    print(f"features      {manifest.num_dense} dense ({manifest.dense_transform}), "
          f"{len(manifest.cardinalities)} categorical: {manifest.cardinalities}")
    if manifest.multi_hot_sizes:
        print(f"multi-hot     {manifest.multi_hot_sizes}")
    if manifest.synthetic:
        bayes = manifest.synthetic.bayes
        print(f"bayes (eval)  ne {bayes.ne:.4f}  logloss {bayes.logloss:.4f}  auc {bayes.auc:.4f}  "
              f"calibration {bayes.calibration:.4f}")
    if manifest.conversion:
        conv = manifest.conversion
        print(f"conversion    ids {conv.id_mapping}, cap {conv.cardinality_cap}, {conv.lines:,} lines read, "
              f"{conv.skipped_lines} skipped; split: {conv.split}")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    width = max(len(name) for name in SOURCES)
    for source in SOURCES.values():
        how = "generated" if source.generated else "stored   "
        cards = f" (vocabularies: {source.cardinalities})" if source.cardinalities else ""
        print(f"{source.name.ljust(width)}  {how}  {source.description}{cards}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="generate, convert and verify data sets")
    commands = data.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")

    p = commands.add_parser("generate", help="materialise a synthetic workload's data set")
    p.add_argument("workload", help="workload id or file (source: synthetic)")
    p.add_argument("--out", type=Path, required=True, help="folder to create")
    p.add_argument("--workers", type=int, default=None, help="processes (default: the CPUs available)")
    p.set_defaults(func=cmd_generate)

    p = commands.add_parser("convert", help="convert real Criteo data to shards + manifest")
    p.add_argument("format", choices=["criteo-kaggle", "criteo-1tb", "torchrec-npy"],
                   help="criteo-kaggle: train.txt; criteo-1tb: day_0 .. day_N (plain or .gz; the last one "
                        "gives the eval half); torchrec-npy: a folder of day_N_{dense,sparse,labels}.npy "
                        "(indexed in place, not copied)")
    p.add_argument("inputs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True, help="folder to create")
    p.add_argument("--ids", choices=["vocabulary", "hash"], default="vocabulary",
                   help="vocabulary: exact ids from a first pass (DLRM's, so the Kaggle file gets DLRM's table "
                        "sizes); hash: one pass, hash mod cap")
    p.add_argument("--cardinality-cap", type=int, default=None, help="ids per feature at most")
    p.add_argument("--eval-share", type=float, default=None,
                   help="criteo-kaggle: the last share of lines (a number between 0 and 1) is eval "
                        "(default: DLRM's day-7 split)")
    p.add_argument("--skip-bad-lines", action="store_true", help="skip and count malformed lines")
    p.add_argument("--workers", type=int, default=None, help="parsing processes (default: CPUs - 1)")
    p.add_argument("--train-days", default="0-22", help="torchrec-npy: training days, e.g. 0-22")
    p.add_argument("--eval-day", type=int, default=23, help="torchrec-npy: the day holding the eval set")
    p.add_argument("--eval-half", choices=["first", "second", "all"], default="first",
                   help="torchrec-npy: the eval day's half (first: torchrec/MLPerf 'val')")
    p.add_argument("--multi-hot", action="store_true", help="torchrec-npy: read day_N_sparse_multi_hot.npz")
    p.add_argument("--cardinalities", default=None,
                   help="torchrec-npy: named set or c1,c2,... (default: the named set of --source)")
    p.add_argument("--source", choices=stored_sources(), default="criteo_1tb",
                   help="torchrec-npy: the data set's source in the manifest (`recscale data sources`)")
    p.set_defaults(func=cmd_convert)

    p = commands.add_parser("verify", help="check every file's size, shape and sha256 against the manifest")
    p.add_argument("folders", nargs="+", type=Path)
    p.set_defaults(func=cmd_verify)

    p = commands.add_parser("info", help="summarise a data set's manifest")
    p.add_argument("folder", type=Path)
    p.set_defaults(func=cmd_info)

    p = commands.add_parser("sources", help="list the data sources a workload's data.source can name")
    p.set_defaults(func=cmd_sources)
