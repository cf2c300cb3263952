"""The reviewers' side of the study: the report opens in a real browser
(headless Chromium driven through chromedriver) with its figures, captions
and configuration, and the figures can be redrawn from results/predictions,
results/tables and results/splits.csv alone, without images or models.

Both use the tiny study that tests/conftest.py builds once per session."""

from __future__ import annotations

import base64
import json
import re
import resource
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny.yaml"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
]
TEST_SETS = ("internal_test", "external_test")
REVIEWER_FIGURES = [f"roc_{s}" for s in TEST_SETS] + [
    "confusion_matrices",
    "forest_plot",
    "calibration",
    "decision_curve",
    "training_curves",
    "cohort_flow",
]
HEATMAPS = [
    f"heatmaps/{name}_{s}"
    for name in ("inception_v3", "inception_resnet_v2", "resnet101", "architectures")
    for s in TEST_SETS
]
FIGURE_RULES = {
    "figures",
    "roc_figure",
    "confusion_matrices",
    "forest_plot",
    "calibration_figure",
    "decision_curve_figure",
    "training_curves",
    "cohort_flow",
}

pytestmark = pytest.mark.slow
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromium-driver not installed"
)


# --- a minimal W3C WebDriver client (no selenium needed) --------------------------------


class Browser:
    """Headless Chromium through chromedriver's W3C WebDriver HTTP API."""

    def __init__(self, profile: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if self._call("GET", "/status")["ready"]:
                    break
            except OSError:
                time.sleep(0.05)
        options = {"binary": CHROMIUM, "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]}
        capabilities = {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
        self.session = "/session/" + self._call("POST", "/session", {"capabilities": capabilities})["sessionId"]

    def _call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())["value"]

    def open(self, url: str) -> None:
        self._call("POST", self.session + "/url", {"url": url})

    def run(self, script: str, *args, wait: bool = False):
        """Run JavaScript in the page; with wait, the script calls its last argument with the result."""
        return self._call(
            "POST",
            self.session + ("/execute/async" if wait else "/execute/sync"),
            {"script": script, "args": list(args)},
        )

    def screenshot(self) -> np.ndarray:
        png = base64.b64decode(self._call("GET", self.session + "/screenshot"))
        return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)

    def close(self) -> None:
        try:
            self._call("DELETE", self.session)
        finally:
            self.driver.terminate()
            self.driver.wait(timeout=30)


# Show an embedded result as the report's own "view" button does, and wait
# until the browser has decoded the image.
SHOW_IMAGE = """
const [path, done] = arguments;
const entry = results[path];
if (!entry) { done("not in the report"); return; }
app.setView({content: "img", contentPath: entry.data_uri, resultPath: path});
const start = Date.now();
(function poll() {
  const img = Array.from(document.querySelectorAll("#app img")).find(i => i.src === entry.data_uri);
  if (img && img.complete && img.naturalWidth > 0) done([img.naturalWidth, img.naturalHeight]);
  else if (Date.now() - start > 20000) done("not rendered");
  else setTimeout(poll, 50);
})();
"""


@pytest.fixture(scope="module")
def report(study, tmp_path_factory):
    """The study's report, open in headless Chromium with a fresh profile."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromium-driver not installed")
    browser = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        browser.open((study / "results" / "report.html").as_uri())
        for _ in range(400):
            if browser.run("return typeof app !== 'undefined' && document.querySelector('nav') !== null"):
                break
            time.sleep(0.05)
        yield browser
    finally:
        browser.close()


@needs_chromium
def test_report_opens_with_the_study_its_configuration_and_categories(report):
    text = report.run("return document.body.innerText")
    assert "ALN-US reproduces" in text and "Configuration of this run" in text
    assert '"roc_band": "ensemble"' in text  # the resolved config, defaults filled in
    for category in ("Cohorts", "Training", "Results", "Figures", "Heat maps", "Provenance"):
        assert category in text
    shot = report.screenshot()
    assert shot.shape[1] == 1400 and shot.std() > 20  # something was drawn, not a blank page


@needs_chromium
@pytest.mark.parametrize("name", REVIEWER_FIGURES + HEATMAPS)
def test_report_renders_each_figure(report, study, name):
    path = f"results/figures/{name}.png"
    size = report.run(SHOW_IMAGE, path, wait=True)
    height, width = cv2.imread(str(study / path)).shape[:2]
    assert size == [width, height]  # the figure itself, decoded by the browser
    assert report.screenshot()[:, 300:].std() > 10  # and on screen, beside the menu


@needs_chromium
@pytest.mark.parametrize(
    "category, subcategory, labels",
    [
        ("Figures", "Diagnostic performance", ["ROC curves", "Confusion matrices", "Sensitivity and specificity"]),
        ("Figures", "Calibration and clinical utility", ["Calibration plots", "Decision curves"]),
        ("Heat maps", "external_test", ["Gallery", "Same cases, every architecture"]),
        ("Cohorts", "Flow", ["Figure", "Table"]),
    ],
)
def test_report_lists_the_figures_of_each_category(report, category, subcategory, labels):
    report.run("app.setView({navbarMode: 'menu'})")  # back to the menu first, as a reader would go
    time.sleep(0.2)
    report.run(
        "app.setView({navbarMode: 'subcategory', category: arguments[0], subcategory: arguments[1]})",
        category,
        subcategory,
    )
    time.sleep(0.3)
    menu = report.run("return document.querySelector('nav').innerText")
    for label in labels:
        assert label in menu


@needs_chromium
@pytest.mark.parametrize(
    "path, caption",
    [
        ("results/figures/roc_external_test.png", "Receiver operating characteristic"),
        ("results/figures/heatmaps/architectures_internal_test.png", "The same cases seen by every architecture"),
        ("results/figures/cohort_flow.png", "STARD"),
        ("results/report/software_versions.csv", "pinned version"),
        ("results/report/claim.html", "CLAIM 2024 checklist"),
        ("results/report/tripod_ai.html", "TRIPOD+AI checklist"),
        ("results/models/resnet101/model_card.html", "Model Cards for Model Reporting"),
    ],
)
def test_report_shows_each_caption(report, path, caption):
    report.run("app.showResultInfo(arguments[0])", path)
    time.sleep(0.3)
    assert caption in report.run("return document.querySelector('nav').innerText")


# --- the reviewers' path ------------------------------------------------------------------


def test_reviewer_redraws_every_figure_from_predictions_and_tables_alone(study, tmp_path):
    """Only predictions, tables and splits.csv, copied as a download gives
    them (fresh modification times, splits.csv newest): the README's command
    redraws every figure but the heat maps, runs nothing else, matches the
    study's own figures, and needs well under 60 CPU seconds."""
    results = tmp_path / "results"
    for part in ("predictions", "tables"):
        shutil.copytree(study / "results" / part, results / part, copy_function=shutil.copyfile)
    shutil.copyfile(study / "results" / "splits.csv", results / "splits.csv")
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "workflow" / "reviewers.smk"),
            "--configfile",
            str(TINY),
            "--directory",
            str(tmp_path),
            "--cores",
            "1",
            "--forceall",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    wall, after = time.monotonic() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert run.returncode == 0, run.stderr[-4000:]
    assert set(re.findall(r"^(?:local)?rule (\w+):", run.stdout + run.stderr, re.MULTILINE)) == FIGURE_RULES
    for name in REVIEWER_FIGURES:
        png = results / "figures" / f"{name}.png"
        assert png.read_bytes() == (study / "results" / "figures" / f"{name}.png").read_bytes(), name
        assert (results / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in results.iterdir()) == ["figures", "predictions", "splits.csv", "tables"]
    print(f"reviewers' path: {wall:.1f} s wall, {cpu:.1f} CPU seconds")
    assert cpu < 60
