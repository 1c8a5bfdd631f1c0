"""`recscale`: the command line.

Argument parsing lives here and in harness/commands/ (one module per step of the flow).
Exit codes: 0 ok; 1 a check found rule violations; 2 bad input (every problem on its own line:
file, dotted path, what is wrong), never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from harness.commands import check, data, report, run, score, workloads
from recscale.errors import InputError

Command = Callable[[argparse.Namespace], int]
COMMAND_MODULES = (workloads, data, run, check, score, report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recscale", description="RecScale: scaling-law benchmark for DLRM")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Command = args.func
    try:
        return func(args)
    except InputError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 2
    except BrokenPipeError:  # `recscale points x | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
