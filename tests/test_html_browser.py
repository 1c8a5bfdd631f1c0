"""The leaderboard page in a real headless browser (Debian's chromium): it renders, every plot
decodes, the tables are there, and the browser logs no console message (errors included).

Skipped when no chromium binary is installed (.ci/run installs it, so CI always runs this).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES
from score_helpers import Law, make_records, synthetic_points, system_description, write_submission

from harness.score.fits.records import FitSettings
from harness.score.leaderboard.score import score

pytestmark = pytest.mark.browser

BROWSER = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                if (found := shutil.which(name))), None)
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no chromium binary on PATH (apt-get install chromium)")
# a console message of the page itself: "[...:INFO:CONSOLE:1] "text", source: file:///.../index.html (1)"
CONSOLE = re.compile(r":CONSOLE(?::\d+)?\]\s*(.*source: file://.*)$")


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", *extra, page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console_messages(stderr: str) -> list[str]:
    return [m.group(1) for line in stderr.splitlines() if (m := CONSOLE.search(line))]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("subs")
    points = synthetic_points()
    write_submission(root / "alpha", make_records(points, seeds=(0, 1, 2), noise=0.002, system="cpu-a"),
                     [system_description("cpu-a")], submitter="Alpha")
    write_submission(root / "beta", make_records(points, system="gpu-b", division="open", law=Law(beta=0.4)),
                     [system_description("gpu-b", accelerator="H100", division="open")], submitter="Beta",
                     division="open")
    out = tmp_path_factory.mktemp("board")
    score(root, out, mlperf=[FIXTURES / "mlperf_training_v4.0"], checker=lambda path: (True, ""),
          settings=FitSettings(n_boot=100))
    return out / "index.html"


@needs_browser
def test_page_renders_with_plots_and_tables_and_no_console_message(page: Path, tmp_path: Path) -> None:
    result = chromium(page, tmp_path / "profile", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None, dom[:500]
    attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1)))
    assert attributes.get("data-rendered") == "yes"  # the page's load handler ran
    images = page.read_text().count("<img ")
    assert images == 6  # systems, data, compute, params, MLPerf scores and curves
    assert attributes.get("data-images") == attributes.get("data-images-loaded") == str(images)  # every SVG decoded
    assert dom.count("<table>") >= 6
    for title in ("Closed division: dlrm-synthetic-scaling v1", "Open division: dlrm-synthetic-scaling v1",
                  "MLPerf Training dlrm_dcnv2", "Rules"):
        assert f">{title}</h2>" in dom
    assert console_messages(result.stderr) == []


@needs_browser
def test_screenshot_is_drawn(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    result = chromium(page, tmp_path / "profile", "--window-size=1400,2400", f"--screenshot={shot}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000  # not a blank page


@needs_browser
def test_broken_pages_are_detected(page: Path, tmp_path: Path) -> None:
    """The checks above can fail: a missing plot is counted, a script error is logged."""
    copy = tmp_path / "board"
    shutil.copytree(page.parent, copy)
    (copy / "plots" / "mlperf-scores.svg").unlink()
    broken = copy / "index.html"
    broken.write_text(broken.read_text().replace("</body>", "<script>undefinedFunction();</script></body>"))
    result = chromium(broken, tmp_path / "profile", "--dump-dom")
    attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', re.search(r"<body([^>]*)>", result.stdout).group(1)))
    assert (attributes["data-images"], attributes["data-images-loaded"]) == ("6", "5")
    assert any("Uncaught ReferenceError" in m for m in console_messages(result.stderr)), result.stderr[-2000:]
