"""Running `recscale` commands for the fault campaign: each in its own process, with a timeout, its
output kept, and what it wrote measured (bench/bench_fault_campaign.py, tests/test_fault_campaign.py).

Two ways to start a command:
- fork (default): a child of this process, which imported the CLI once, runs ``harness.cli.main``.
  Importing torch takes seconds per process, and the campaign runs hundreds of commands; the child
  is still a process of its own (its own exit code, output, process group, user), killed on time.
- exec: ``python -m harness.cli`` in a fresh interpreter, as a user runs it (slower, the same answers).

A command is classified by :func:`verdict` against what the case expects; a Python traceback, an exit
code the CLI does not use (3: an unexpected error, or a death by a signal), or no exit before the
timeout is always a failure. RECSCALE_DEBUG=1 is set, so an unexpected error shows its traceback.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.cli import main

REPO = Path(__file__).resolve().parent.parent
_CAP_VERSION_3, _CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 0x20080522, 1, 2  # linux/capability.h
POLL_S = 0.02


@dataclass
class Ran:
    """One finished (or killed) command."""

    argv: list[str]
    code: int | None  # None: killed (hang or on purpose); a negative number: died of that signal
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err

    def failure(self) -> str | None:
        """What went wrong beyond an answer: "hang" (killed at the timeout), "traceback" (a bug: exit 3
        with "internal error", a traceback printed, a death by a signal, an exit code the CLI does not
        use), "os error" (exit 3 for an OSError the command did not turn into a message); else None."""
        if self.code is None:
            return "hang"
        if self.code < 0 or self.code not in (0, 1, 2, 3, 130) or "recscale: internal error" in self.err:
            return "traceback"
        if self.code == 3:
            return "os error"
        return "traceback" if "Traceback (most recent call last)" in self.text else None


class Child:
    """A started command in its own process group: wait for it, or kill it."""

    def __init__(self, argv: list[str], cwd: Path, *, exec_mode: bool = False, unprivileged: bool = False,
                 file_size_limit: int | None = None, env: dict[str, str] | None = None):
        """`unprivileged`: without root's power to ignore file permissions; `file_size_limit`: no file may
        grow past this many bytes (RLIMIT_FSIZE: a write past it fails with EFBIG, as on a full disk)."""
        self.argv, self.started = argv, time.perf_counter()
        self._out, self._err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115 (closed in result)
        environment = {**os.environ, "RECSCALE_DEBUG": "1", "PYTHONPATH": str(REPO), **(env or {})}
        drop = _prepare(unprivileged, file_size_limit)
        if exec_mode:
            self._popen: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "harness.cli", *argv], cwd=cwd, env=environment, stdout=self._out,
                stderr=self._err, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=drop)
            self.pid = self._popen.pid
        else:
            self._popen = None
            self.pid = os.fork()
            if self.pid == 0:
                _child(argv, cwd, environment, self._out.fileno(), self._err.fileno(), drop)
        self.code: int | None = None
        self.done = False

    def wait(self, timeout: float) -> bool:
        """Whether the command exited within `timeout` seconds (its code is then in .code)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.code, self.done = os.waitstatus_to_exitcode(status), True
                return True
            time.sleep(POLL_S)
        return False

    def kill(self) -> None:
        """SIGKILL the whole process group (the command and anything it started)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        if not self.done:
            os.waitpid(self.pid, 0)
            self.done = True

    def result(self) -> Ran:
        def read(handle: tempfile._TemporaryFileWrapper[bytes] | object) -> str:
            handle.seek(0)  # type: ignore[attr-defined]
            return handle.read().decode("utf-8", "replace")  # type: ignore[attr-defined]

        ran = Ran(self.argv, self.code, read(self._out), read(self._err), time.perf_counter() - self.started)
        self._out.close()
        self._err.close()
        return ran


def _prepare(unprivileged: bool, file_size_limit: int | None) -> Callable[[], None] | None:
    """What the child does before the command: limits, then privileges."""
    def prepare() -> None:
        if file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
        if unprivileged and os.geteuid() == 0:
            _drop_privileges()
    return prepare if unprivileged or file_size_limit is not None else None


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_privileges() -> None:
    """Give up root's power to ignore file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), staying
    root otherwise: a file of mode 000 is then unreadable, while the interpreter's own files (root's)
    stay readable, which they would not be to another user."""
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = _CapHeader(_CAP_VERSION_3, 0), (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    keep = ~((1 << _CAP_DAC_OVERRIDE) | (1 << _CAP_DAC_READ_SEARCH)) & 0xFFFFFFFF
    for field in ("effective", "permitted", "inheritable"):
        setattr(data[0], field, getattr(data[0], field) & keep)
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def _child(argv: list[str], cwd: Path, env: dict[str, str], out_fd: int, err_fd: int, drop: object) -> None:
    """The forked child: its own session, output to the files, the CLI, then exit (never return)."""
    code = 99
    try:
        os.setsid()
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 (pytest may have replaced them)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115
        os.environ.clear()
        os.environ.update(env)
        if callable(drop):
            drop()
        os.chdir(cwd)
        code = main(argv)
    except SystemExit as exit_:  # argparse: 2 for a bad option
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    except BaseException:  # main lets nothing out but a bug in it: shown as what it is
        traceback.print_exc()
        code = 98
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError):  # a full disk may refuse: the exit code still counts
                stream.flush()
        os._exit(code)


def run(argv: list[str], cwd: Path, timeout: float, **options: object) -> Ran:
    """Run a command to its end, or kill it at `timeout` (code None: a hang)."""
    child = Child(argv, cwd, **options)  # type: ignore[arg-type]
    if not child.wait(timeout):
        child.kill()
        child.code = None
    return child.result()


# ------------------------------------------------------------------------------ what was written


Snapshot = dict[str, tuple[int, int, int]]  # relative path -> (mode, size, mtime_ns)


def snapshot(folder: Path, skip: Iterable[Path] = ()) -> Snapshot:
    """Every entry under `folder` (links not followed) but the `skip` subtrees."""
    skipped = {str(p) for p in skip}
    found: Snapshot = {}
    for top, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in skipped]
        for name in dirs + files:
            path = os.path.join(top, name)
            if path in skipped:
                continue
            info = os.lstat(path)
            size = info.st_size if not stat.S_ISDIR(info.st_mode) else 0
            found[os.path.relpath(path, folder)] = (info.st_mode, size, info.st_mtime_ns)
    return found


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What appeared, disappeared or changed between two snapshots (a folder's mtime changes with its
    entries, so folders count only when they appear or go)."""
    changed = [f"+{p}" for p in sorted(set(after) - set(before))] + [f"-{p}" for p in sorted(set(before) - set(after))]
    for path in sorted(set(before) & set(after)):
        old, new = before[path], after[path]
        if stat.S_ISDIR(old[0]) and stat.S_ISDIR(new[0]):
            if old[0] != new[0]:
                changed.append(f"~{path}")
        elif old != new:
            changed.append(f"~{path}")
    return changed
