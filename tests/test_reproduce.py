"""The main job, as a user runs it: wsseg_reproduce from the command line."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def _run(args, cwd):
    return subprocess.run(["wsseg_reproduce", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_reproduce_f0_runs_then_skips(tmp_path):
    r = _run(["--only", "f0_logic"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "1 ran, 0 skipped" in r.stdout
    run = tmp_path / "results" / "smoke" / "f0_logic"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["prob_space_forall"] == 0.0 and metrics["log_space_forall"] < -200
    man = json.loads((run / "manifest.json").read_text())
    assert man["status"] == "finished" and man["params"]["device"] == "cpu"
    assert (run / "f0_logic.ipynb").exists()
    png = tmp_path / "figures" / "smoke" / "f0_logic.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    r2 = _run(["--only", "f0_logic"], tmp_path)
    assert r2.returncode == 0 and "0 ran, 1 skipped" in r2.stdout, r2.stdout + r2.stderr
    r3 = _run(["--only", "f0_logic", "--force"], tmp_path)
    assert r3.returncode == 0 and "1 ran, 0 skipped" in r3.stdout


def _nb(cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = cells
    return nb


def test_failing_notebook_is_named_with_its_cell(tmp_path):
    nbs = tmp_path / "exps"
    nbs.mkdir()
    param = nbformat.v4.new_code_cell("out_dir: str = '_out'  # output folder\nx: int = 1  # a number")
    param.metadata["tags"] = ["parameters"]
    good = _nb([nbformat.v4.new_code_cell("import pathlib"), param,
                nbformat.v4.new_code_cell("pathlib.Path(out_dir).mkdir(parents=True, exist_ok=True)")])
    bad = _nb([param, nbformat.v4.new_code_cell("y = x + 1"), nbformat.v4.new_code_cell("raise ValueError('broken on purpose')")])
    nbformat.write(good, nbs / "a_good.ipynb")
    nbformat.write(bad, nbs / "b_bad.ipynb")
    nbformat.write(good, nbs / "c_never.ipynb")
    r = _run(["--nbs-dir", str(nbs), "--out-dir", str(tmp_path / "res"), "--fig-dir", str(tmp_path / "fig")], tmp_path)
    assert r.returncode == 1
    assert "b_bad failed in cell" in r.stderr and "ValueError: broken on purpose" in r.stderr, r.stderr
    man = json.loads((tmp_path / "res" / "smoke" / "b_bad" / "manifest.json").read_text())
    assert man["status"] == "failed"
    assert (tmp_path / "res" / "smoke" / "a_good" / "manifest.json").exists()
    assert not (tmp_path / "res" / "smoke" / "c_never").exists(), "runner must stop at the first failure"


def test_unknown_names_are_clear(tmp_path):
    r = _run(["--only", "t9_missing"], tmp_path)
    assert r.returncode == 1 and "Unknown experiment" in r.stderr and "f0_logic" in r.stderr
    r = _run(["--profile", "fast"], tmp_path)
    assert r.returncode == 2 and "invalid choice: 'fast'" in r.stderr and "rehearsal" in r.stderr


def test_help():
    r = subprocess.run(["wsseg_reproduce", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--profile" in r.stdout and "--force" in r.stdout and "--dry-run" in r.stdout


def test_parameter_overrides_papermill_style(tmp_path):
    r = _run(["--only", "f0_logic", "-p", "image_size", "64", "-p", "grid=11", "--dry-run"], tmp_path)
    assert r.returncode == 0, r.stderr
    params = json.loads(r.stdout)["parameters"]
    assert params["image_size"] == 64 and params["grid"] == 11
    r = _run(["--only", "f0_logic", "-p", "nosuch", "1"], tmp_path)
    assert r.returncode == 1 and "unknown parameter(s) ['nosuch']" in r.stderr and "image_size" in r.stderr
    r = _run(["--only", "f0_logic", "-p", "image_size", "big"], tmp_path)
    assert r.returncode == 1 and "expected a int" in r.stderr
