"""One writer per submission: `recscale run` holds the submission folder while it writes.

The lock is an exclusive flock(2) on the submission folder itself, so the kernel releases it when
the holder exits in any way (a killed run never leaves a stale lock). Beside it the holder writes
who it is (pid, host, since, command) to ``.recscale-run.lock``, which a refused run prints and the
holder removes when it is done; writing it is best effort (a read-only submission whose runs are all
finished needs no write at all).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import sys
from collections.abc import Iterator
from pathlib import Path

from recscale.errors import InputError, Problem
from recscale.io import atomic_write_text, utc_now
from recscale.layout import SubmissionLayout


def make_submission_folder(root: Path) -> None:
    """Create `root` (and its parents); InputError saying why when it cannot be a folder."""
    for path in (root, *root.parents):
        if path.exists():
            if not path.is_dir():
                what = "is a file" if path == root else f"is under {path}, which is a file"
                raise InputError([Problem(str(root), "", f"{what}: a submission is a folder; give another "
                                          "--submission")])
            break
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError([Problem(str(root), "", f"cannot create the submission folder: {err.strerror}")]) from None


def _holder(path: Path) -> str:
    """Who holds the lock, as its lock file says (it may be gone: the holder just finished)."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return (f"pid {info['pid']} on {info['host']} since {info['since']} ({info['command']})")
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that did not say who it is"


@contextlib.contextmanager
def hold_submission(root: Path) -> Iterator[None]:
    """Hold the submission folder `root` (created if absent) for this process; InputError naming the
    holder when another process holds it."""
    make_submission_folder(root)
    lock_file = SubmissionLayout(root).lock_file
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError([Problem(str(root), "", f"another `recscale run` is writing this submission: "
                                      f"{_holder(lock_file)}; wait for it to finish, or use another --submission "
                                      "folder")]) from None
        info = {"pid": os.getpid(), "host": platform.node(), "since": utc_now(), "command": " ".join(sys.argv)}
        try:
            atomic_write_text(lock_file, json.dumps(info) + "\n")
            written = True
        except OSError:  # read-only: the lock still holds; only the name of the holder is missing
            written = False
        try:
            yield
        finally:
            if written:
                with contextlib.suppress(OSError):
                    lock_file.unlink()
    finally:
        os.close(fd)  # releases the flock
