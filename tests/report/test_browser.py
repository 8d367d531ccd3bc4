"""Open the report in headless Chromium: the claims table is there and every <img> loaded.

Skipped where no Chromium is installed (apt-get install chromium), except where
$RTRL_MOE_REQUIRE_BROWSER is set (CI installs Chromium and sets it, so the test runs there and a
missing browser fails instead of skipping).  The screenshot is kept in the test's tmp folder, or
in $REPORT_SCREENSHOT_DIR when that is set.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        p = shutil.which(name)
        if p:
            return p
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


CHROMIUM = chromium()
REQUIRED = bool(os.environ.get("RTRL_MOE_REQUIRE_BROWSER"))
pytestmark = pytest.mark.skipif(CHROMIUM is None and not REQUIRED,
                                reason="Chromium is not installed (apt-get install chromium)")

PROBE = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var glance = document.querySelectorAll("table.glance tr").length;
  var glanceTables = document.querySelectorAll("table.glance").length;
  var cav = document.getElementById("findings"), first = document.querySelector("table.glance");
  document.body.setAttribute("data-glance-rows", String(glance - glanceTables));
  document.body.setAttribute("data-caveats-first", String(!!cav && !!first &&
    cav.getBoundingClientRect().top < first.getBoundingClientRect().top &&
    first.getBoundingClientRect().top < document.getElementById("header").getBoundingClientRect().top));
  document.body.setAttribute("data-images", ok + "/" + imgs.length);
  document.body.setAttribute("data-findings-top", String(Math.round(cav.getBoundingClientRect().top)));
});
</script>
"""


def run_chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
           f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def test_report_in_headless_chromium(built_report, tmp_path):
    assert CHROMIUM is not None, "RTRL_MOE_REQUIRE_BROWSER is set but no Chromium is installed"
    out, info = built_report
    html = (out / "index.html").read_text(encoding="utf-8")
    n_img = len(re.findall(r"<img ", html))
    assert n_img > 0
    page = tmp_path / "page.html"
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")

    r = run_chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", page.as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    m = re.search(r'data-images="(\d+)/(\d+)"', dom)
    assert m, "the probe did not run: " + r.stderr[-2000:]
    assert m.group(1) == m.group(2) == str(n_img), f"images loaded {m.group(1)} of {m.group(2)}"
    # the first screen: the findings (within the first 900 px), then one table per document with every
    # claim, provenance last
    assert int(re.search(r'data-glance-rows="(\d+)"', dom).group(1)) == sum(info["counts"].values())
    assert 'data-caveats-first="true"' in dom
    assert int(re.search(r'data-findings-top="(-?\d+)"', dom).group(1)) < 900

    shots = Path(os.environ.get("REPORT_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "report-screenshot.png"
    r = run_chromium(tmp_path, "--virtual-time-budget=10000", "--hide-scrollbars", "--window-size=1280,2400",
                     f"--screenshot={shot}", (out / "index.html").as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
