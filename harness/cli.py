"""`recscale`: the command line.

Argument parsing lives here and in harness/commands/ (one module per step of the flow).
Exit codes: 0 ok; 1 the command did its work and the answer is no (a check found rule violations,
a run of the sweep failed); 2 bad input (every problem on its own line: file, dotted path, what is
wrong; never a traceback); 3 an unexpected error (a bug, or the machine: disk full, permissions),
one line, with the traceback when RECSCALE_DEBUG=1; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from harness.commands import check, data, report, run, score, workloads
from recscale.errors import InputError

Command = Callable[[argparse.Namespace], int]
COMMAND_MODULES = (workloads, data, run, check, score, report)
EXIT_UNEXPECTED = 3
DEBUG_ENV = "RECSCALE_DEBUG"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recscale", description="RecScale: scaling-law benchmark for DLRM",
                                     epilog="exit codes: 0 ok, 1 rules broken or runs failed, 2 bad input, "
                                            f"3 unexpected error ({DEBUG_ENV}=1 shows its traceback)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def _unexpected(err: BaseException) -> int:
    """One line for an error nobody anticipated; the traceback only when asked for."""
    if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        traceback.print_exc()
    what = str(err) or type(err).__name__
    kind = "error" if isinstance(err, OSError) else f"internal error ({type(err).__name__})"
    hint = "" if isinstance(err, OSError) else f"; {DEBUG_ENV}=1 shows the traceback (please report it)"
    print(f"recscale: {kind}: {what}{hint}", file=sys.stderr)
    return EXIT_UNEXPECTED


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
    except Exception as err:  # the last resort: exit 1 means "rules broken", so a crash must not end in it
        return _unexpected(err)


if __name__ == "__main__":
    sys.exit(main())
