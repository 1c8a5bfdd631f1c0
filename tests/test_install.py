"""A plain, non-editable `pip install .` works anywhere: the package carries its workloads and schemas.

The wheel is built from a copy of the sources (the checkout stays clean), installed with --target
into a temporary folder and run from another directory with only that folder on PYTHONPATH: no
file of the repository is reachable, so every input must come from the package or the command line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from submission_factory import make_submission

REPO = Path(__file__).resolve().parent.parent
PACKAGED = ("pyproject.toml", "README.md", "recscale", "harness", "reference", "workloads", "schemas")
DRIVER = """
import json, sys
import harness, recscale
from harness.cli import main
runs = [["validate"], ["ls"], ["points", "smoke"], ["schemas", "--check"], ["check", sys.argv[1], "--no-references"]]
print(json.dumps({"files": [harness.__file__, recscale.__file__], "codes": [main(args) for args in runs]}))
"""


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args, "--quiet", "--disable-pip-version-check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site folder of a wheel built from the sources and installed with pip --target."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    src.mkdir()
    for name in PACKAGED:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    _pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(tmp / "dist"), str(src))
    (wheel,) = (tmp / "dist").glob("recscale-*.whl")
    _pip("install", "--no-deps", "--no-compile", "--target", str(tmp / "site"), str(wheel))
    return tmp / "site"


def _run(command: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"PYTHONPATH": str(site)}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300)


def test_the_wheel_carries_workloads_and_schemas(installed):
    shipped = {p.name for p in (REPO / "workloads").glob("*.yaml")}
    assert {p.name for p in (installed / "recscale" / "workloads").iterdir()} == shipped
    assert not (installed / "recscale" / "workloads").is_symlink()  # files, not the checkout's link
    assert sorted(p.name for p in (installed / "recscale" / "schemas").iterdir()) == sorted(
        p.name for p in (REPO / "schemas").glob("*.schema.json"))


def test_an_installed_recscale_works_outside_the_repository(installed, tmp_path):
    submission = make_submission(tmp_path / "sub")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _run([sys.executable, "-c", DRIVER, str(submission)], installed, elsewhere)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert all(Path(f).is_relative_to(installed) for f in outcome["files"]), outcome["files"]
    assert outcome["codes"] == [0, 0, 0, 0, 0], done.stdout + done.stderr
    assert "smoke" in done.stdout and "PASS" in done.stdout
    script = _run([str(installed / "bin" / "recscale"), "check", str(submission), "--no-references"], installed,
                  elsewhere)
    assert script.returncode == 0 and script.stdout.startswith("PASS"), script.stdout + script.stderr
