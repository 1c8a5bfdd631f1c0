"""Workload commands: validate, ls, points, schemas, demo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.paths import DEFAULT_WORKLOADS, resolve_workload
from recscale.errors import InputError, Problem


def cmd_validate(args: argparse.Namespace) -> int:
    from recscale.load import load_points, workload_files

    files = workload_files(args.paths or [DEFAULT_WORKLOADS])
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
    from recscale.load import load_points, workload_files

    problems: list[Problem] = []
    rows = [("id", "ver", "points", "runs", "data", "train rows", "target", "file")]
    for file in workload_files([args.folder]):
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
    from recscale.load import load_points

    spec, points = load_points(resolve_workload(args.workload))
    print(f"# {spec.id} v{spec.version}: {len(points)} points x {spec.runs_per_point} runs")
    for point in points:
        data = point.spec.data
        print(f"{point.point_id}\ttrain_rows={data.train_rows}\tsha256={point.spec_sha256[:12]}")
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from harness import schemas

    if args.check:
        stale = schemas.drifted()
        for name in stale:
            print(f"{schemas.schema_path(name)}: out of date with the models; run `recscale schemas`",
                  file=sys.stderr)
        if not stale:
            print(f"ok  {len(schemas.SCHEMA_MODELS)} schemas match the models")
        return 1 if stale else 0
    for path in schemas.write_all():
        print(f"wrote {path}")
    return 0



def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="validate workload files (default: workloads/)")
    p.add_argument("paths", nargs="*", type=Path, help="workload files or folders")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("ls", help="list the workloads")
    p.add_argument("--folder", type=Path, default=DEFAULT_WORKLOADS)
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("points", help="list the expanded points of a workload")
    p.add_argument("workload", help="workload id or file")
    p.set_defaults(func=cmd_points)

    p = sub.add_parser("schemas", help="regenerate schemas/ from the models (or --check for drift)")
    p.add_argument("--check", action="store_true", help="fail if the committed schemas are stale")
    p.set_defaults(func=cmd_schemas)
