"""Workload commands: validate, ls, points, schemas."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import schemas
from recscale.errors import InputError, Problem
from recscale.load import default_workload_paths, load_points, resolve_workload, workload_files
from recscale.resources import schema_file


def cmd_validate(args: argparse.Namespace) -> int:
    files = workload_files(args.paths or default_workload_paths())
    if not files:
        raise InputError([Problem(" ".join(map(str, args.paths)), "", "no workload files (*.yaml) found")])
    problems: list[Problem] = []
    for file in files:
        try:
            spec, points = load_points(file)
        except InputError as err:
            problems += err.problems
            continue
        print(f"ok  {file}  ({spec.id} v{spec.version}: {len(points)} points x {spec.runs_per_point} runs)")
    if problems:
        raise InputError(problems)
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    problems: list[Problem] = []
    rows = [("id", "ver", "points", "runs", "data", "train rows", "target", "file")]
    for file in workload_files(args.folders or default_workload_paths()):
        try:
            spec, points = load_points(file)
        except InputError as err:
            problems += err.problems
            continue
        target = f"{spec.quality.metric} {'>=' if spec.quality.higher_is_better else '<='} {spec.quality.target}"
        rows.append((spec.id, str(spec.version), str(len(points)), str(spec.runs_per_point),
                     spec.data.source, f"{spec.data.train_samples:,}", target, str(file)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if problems:
        raise InputError(problems)
    return 0


def cmd_points(args: argparse.Namespace) -> int:
    spec, points = load_points(resolve_workload(args.workload))
    print(f"# {spec.id} v{spec.version}: {len(points)} points x {spec.runs_per_point} runs")
    for point in points:
        data = point.spec.data
        print(f"{point.point_id}\ttrain_rows={data.train_rows}\tsha256={point.spec_sha256[:12]}")
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    if args.check:
        stale = schemas.drifted(args.folder)
        for name in stale:
            print(f"{schema_file(name, args.folder)}: out of date with the models; run `recscale schemas`",
                  file=sys.stderr)
        if not stale:
            print(f"ok  {len(schemas.SCHEMA_MODELS)} schemas match the models")
        return 1 if stale else 0
    for path in schemas.write_all(args.folder):
        print(f"wrote {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="validate workload files (default: ./workloads and the built-in ones)")
    p.add_argument("paths", nargs="*", type=Path, help="workload files or folders")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("ls", help="list the workloads (default: ./workloads and the built-in ones)")
    p.add_argument("--folder", dest="folders", type=Path, nargs="+", action="extend", metavar="PATH",
                   help="workload folders or files to list instead")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("points", help="list the expanded points of a workload")
    p.add_argument("workload", help="workload id (./workloads, then the built-in ones) or file")
    p.set_defaults(func=cmd_points)

    p = sub.add_parser("schemas", help="regenerate the shipped JSON schemas from the models (or --check for drift)")
    p.add_argument("--check", action="store_true", help="fail if the shipped schemas are stale")
    p.add_argument("--folder", type=Path, default=None,
                   help="write or compare the schemas there instead (default: the package's, i.e. schemas/ of "
                        "the repository)")
    p.set_defaults(func=cmd_schemas)
