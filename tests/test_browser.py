"""The annotator in a real browser: JupyterLab on 127.0.0.1, headless Chromium (Debian's `chromium`) driven by
Playwright. Draws a box and a scribble with the mouse, waits for the overlay, opens a "why" view, goes to the next
image and back, and checks the weak-label files on disk. Saves a screenshot (`WSSEG_SCREENSHOT`, default in the
test's folder). `.ci/run` installs chromium (apt) and playwright (pip); run alone with `pytest -m browser`."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from wsseg_nb.datasets import sample_root

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
IDS = ["2007_001185", "2007_001420"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


@pytest.fixture()
def lab(tmp_path):
    "A JupyterLab server on 127.0.0.1 over tmp_path, with a notebook that shows the annotator on two sample images."
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "a1", "metadata": {}, "outputs": [], "source":
                     f"from wsseg_nb.annotate import Annotator\n"
                     f"a = Annotator({str(sample_root('voc'))!r}, {str(tmp_path / 'weak')!r}, split_file={IDS!r}, display_width=500)\na"}],
          "metadata": {"kernelspec": {"display_name": "python3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "annotate.ipynb").write_text(json.dumps(nb))
    port, token = _free_port(), "wsseg-test"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    log = open(tmp_path / "lab.log", "w")
    p = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                          f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
                          "--LabApp.expose_app_in_browser=True", "--allow-root"],
                         stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=1); break
            except OSError:
                if p.poll() is not None: break
                time.sleep(0.1)
        else: raise AssertionError("JupyterLab did not start: " + (tmp_path / "lab.log").read_text()[-2000:])
        yield f"http://127.0.0.1:{port}/lab/tree/annotate.ipynb?token={token}"
    finally:
        p.terminate()
        try: p.wait(20)
        except subprocess.TimeoutExpired: p.kill()


def test_annotator_in_jupyterlab(lab, tmp_path):
    assert CHROMIUM, "no chromium on PATH: apt-get install chromium (the browser test drives Debian's Chromium)"
    from playwright.sync_api import sync_playwright
    shot = Path(os.environ.get("WSSEG_SCREENSHOT", tmp_path / "annotator.png"))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.on("console", lambda m: m.type == "error" and print("browser console:", m.text))
        page.goto(lab)
        page.wait_for_function("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                               " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
                               " return k && k.status === 'idle'; }", timeout=120_000)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        canvas = page.wait_for_selector(".wsseg-annotator canvas.wa-canvas", timeout=120_000)
        root = page.locator(".wsseg-annotator")
        def xy(x, y):   # image pixels -> page pixels (read again each time: the layout may move)
            b = canvas.bounding_box(); k = b["width"] / 500   # display_width=500: the image's own size
            return b["x"] + x * k, b["y"] + y * k
        page.locator(".wa-class", has_text="person").click()
        page.mouse.move(*xy(70, 95)); page.mouse.down(); page.mouse.move(*xy(200, 250), steps=5)
        page.mouse.move(*xy(305, 370), steps=5); page.mouse.up()
        page.wait_for_function("() => Number(document.querySelector('.wsseg-annotator').dataset.overlayVersion) >= 1", timeout=60_000)
        page.locator(".wa-tool-scribble").click(); page.locator(".wa-class", has_text="cat").click()
        page.mouse.move(*xy(215, 250)); page.mouse.down()
        for x, y in ((225, 258), (240, 270), (250, 280), (262, 292)): page.mouse.move(*xy(x, y), steps=3)
        page.mouse.up()
        page.wait_for_function("() => Number(document.querySelector('.wsseg-annotator').dataset.overlayVersion) >= 2", timeout=60_000)
        assert page.locator(".wa-overlay").get_attribute("src").startswith("data:image/png")
        root.screenshot(path=str(shot))
        page.locator('.wa-view[data-view="border"]').click()
        page.wait_for_function("() => document.querySelector('.wsseg-annotator').dataset.view === 'border'"
                               " && document.querySelector('.wa-overlay').src.startsWith('data:image/png')", timeout=30_000)
        root.screenshot(path=str(tmp_path / "annotator_why.png"))
        page.locator(".wa-next").click()
        page.wait_for_function("() => document.querySelector('.wa-count').textContent.startsWith('2/2')", timeout=30_000)
        page.locator(".wa-prev").click()
        page.wait_for_function("() => document.querySelector('.wa-count').textContent.startsWith('1/2')", timeout=30_000)
        page.wait_for_function("() => Number(document.querySelector('.wsseg-annotator').dataset.overlayVersion) >= 3", timeout=60_000)
        browser.close()
    weak = tmp_path / "weak"
    d = json.loads((weak / "boxes" / f"{IDS[0]}.json").read_text())
    assert [o["class_name"] for o in d["objects"]] == ["person"] and d["scribbles"] == "annotator"
    x0, y0, x1, y1 = d["objects"][0]["box_xyxy"]
    assert abs(x0 - 70) <= 3 and abs(y0 - 95) <= 3 and abs(x1 - 305) <= 3 and abs(y1 - 370) <= 3, d["objects"]
    from wsseg_nb.images import read_label_png
    scr = read_label_png(weak / "scribbles" / f"{IDS[0]}.png")
    assert set(scr[scr != 255].tolist()) == {8} and abs(int(scr[270, 240]) - 8) == 0
    assert [s["kind"] for s in json.loads((weak / "annotator" / f"{IDS[0]}.json").read_text())["shapes"]] == ["box", "scribble"]
    assert not (weak / "boxes" / f"{IDS[1]}.json").exists()       # visited, never annotated: no file
    assert json.loads((weak / "coco.json").read_text())["annotations"][0]["category_id"] == 15
    assert shot.is_file() and shot.stat().st_size > 10_000
    # reopened, the annotator shows what it saved; `wsseg_pseudolabel` on the saved folder writes the same label
    from wsseg_nb.annotate import Annotator
    again = Annotator(sample_root("voc"), weak, split_file=IDS, background=False)
    assert len(again.shapes) == 2 and again.label is not None
    r = subprocess.run(["wsseg_pseudolabel", "--method", "logic", "--data-root", str(sample_root("voc")), "--weak-labels", str(weak),
                        "--out", str(tmp_path / "pl")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "pl").glob("*.png")) == [f"{IDS[0]}.png"]
    assert (read_label_png(tmp_path / "pl" / f"{IDS[0]}.png") == again.label).all()
