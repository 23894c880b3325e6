"""The three data CLIs as a user runs them, on the bundled sample and on broken copies of it."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from wsseg_nb.datasets import sample_root
from wsseg_nb.images import read_label_png, write_label_png


def run(*args, cwd=None):
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture()
def sample(tmp_path):
    dst = tmp_path / "voc"
    shutil.copytree(sample_root(), dst)
    return dst


@pytest.mark.parametrize("tool", ["wsseg_weaklabels", "wsseg_pseudolabel", "wsseg_evaluate", "wsseg_download"])
def test_help(tool):
    r = run(tool, "--help")
    assert r.returncode == 0 and "usage" in r.stdout and "--" in r.stdout


def test_weaklabels_pseudolabel_evaluate(sample, tmp_path):
    r = run("wsseg_weaklabels", str(sample), "--out", str(tmp_path / "weak"), "--split-file", "train")
    assert r.returncode == 0, r.stderr
    assert "9 written" in r.stdout
    js = json.loads((tmp_path / "weak" / "boxes" / "2008_000008.json").read_text())
    assert js["objects"] and all(o["source"] == "simulated" for o in js["objects"])
    r = run("wsseg_pseudolabel", "--method", "boxes", "--data-root", str(sample), "--weak-labels",
            str(tmp_path / "weak"), "--out", str(tmp_path / "pl"))
    assert r.returncode == 0 and "9 written" in r.stdout, r.stderr
    lab = read_label_png(tmp_path / "pl" / "2008_000008.png")
    assert lab.shape == (442, 500)
    r = run("wsseg_pseudolabel", "--method", "boxes", "--data-root", str(sample), "--weak-labels",
            str(tmp_path / "weak"), "--out", str(tmp_path / "pl"))
    assert "0 written, 9 already there" in r.stdout  # resumes
    r = run("wsseg_evaluate", "--pred", str(tmp_path / "pl"), "--data-root", str(sample),
            "--json", str(tmp_path / "res.json"))
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("mIoU: ") and 0 < float(last.split()[1]) < 100
    assert json.loads((tmp_path / "res.json").read_text())["n_images"] == 9
    # val has no prediction: a clear error, not a smaller evaluation
    r = run("wsseg_evaluate", "--pred", str(tmp_path / "pl"), "--data-root", str(sample), "--split-file", "val")
    assert r.returncode == 1 and "have no prediction" in r.stderr and "Traceback" not in r.stderr


def test_bad_images_stop_or_are_skipped(sample, tmp_path):
    (sample / "JPEGImages" / "2011_000025.jpg").write_bytes(b"not a jpeg")
    write_label_png(sample / "SegmentationClass" / "2007_001185.png", np.zeros((10, 10), np.uint8))
    r = run("wsseg_weaklabels", str(sample), "--out", str(tmp_path / "weak"))
    assert r.returncode == 1 and "--skip-bad" in r.stderr and "Traceback" not in r.stderr
    r = run("wsseg_weaklabels", str(sample), "--out", str(tmp_path / "weak2"), "--skip-bad")
    assert r.returncode == 0 and "8 written" in r.stdout and "2 skipped" in r.stdout, r.stdout + r.stderr
    assert "2007_001185" in r.stderr and "2011_000025" in r.stderr
    man = json.loads((tmp_path / "weak2" / "manifest.json").read_text())
    assert man["status"] == "finished" and len(man["skipped"]) == 2


def test_wrong_folder_is_explained(tmp_path):
    r = run("wsseg_weaklabels", str(tmp_path), "--out", str(tmp_path / "w"))
    assert r.returncode == 1 and "no JPEGImages/" in r.stderr


def test_wrong_size_prediction(sample, tmp_path):
    pred = tmp_path / "pred"
    write_label_png(pred / "2007_009897.png", np.zeros((5, 5), np.uint8))
    r = run("wsseg_evaluate", "--pred", str(pred), "--data-root", str(sample))
    assert r.returncode == 1 and "full image resolution" in r.stderr


def test_logic_method_and_its_options(sample, tmp_path):
    weak = tmp_path / "weak"
    assert run("wsseg_weaklabels", str(sample), "--out", str(weak), "--split-file", "val").returncode == 0
    r = run("wsseg_pseudolabel", "--method", "logic", "--data-root", str(sample), "--weak-labels", str(weak),
            "--out", str(tmp_path / "pl"), "--steps", "5", "--constraints=-border,-colour", "--weights", "box_fill=0.5")
    assert r.returncode == 0 and "1 written" in r.stdout, r.stderr
    man = json.loads((tmp_path / "pl" / "manifest.json").read_text())
    opts = man["params"]["options"]["learner"]   # the whole JudgeConfig is recorded; its learner holds these
    assert opts["steps"] == 5 and "border" not in opts["constraints"] and opts["weights"]["box_fill"] == 0.5
    assert read_label_png(tmp_path / "pl" / "2007_009897.png").shape == (375, 500)
    r = run("wsseg_pseudolabel", "--method", "logic", "--data-root", str(sample), "--weak-labels", str(weak),
            "--out", str(tmp_path / "pl"), "--steps", "5", "--constraints=-border,-colour", "--weights", "box_fill=0.5")
    assert r.returncode == 0 and "0 written, 1 already there" in r.stdout, r.stdout + r.stderr   # same options: resumes
    r = run("wsseg_pseudolabel", "--method", "logic", "--data-root", str(sample), "--weak-labels", str(weak),
            "--out", str(tmp_path / "pl"), "--steps", "6")
    assert r.returncode == 1 and "other parameters" in r.stderr
    r = run("wsseg_pseudolabel", "--method", "logic", "--data-root", str(sample), "--weak-labels", str(weak),
            "--out", str(tmp_path / "pl2"), "--constraints=-bordr")
    assert r.returncode == 2 and "unknown constraint" in r.stderr
    r = run("wsseg_pseudolabel", "--method", "boxes", "--data-root", str(sample), "--weak-labels", str(weak),
            "--out", str(tmp_path / "pl3"), "--steps", "5")
    assert r.returncode == 2 and "--method logic only" in r.stderr


def test_sam_methods(sample, tmp_path):
    weak = tmp_path / "weak"
    assert run("wsseg_weaklabels", str(sample), "--out", str(weak), "--split-file", "train").returncode == 0
    base = ["wsseg_pseudolabel", "--data-root", str(sample), "--weak-labels", str(weak)]
    r = run(*base, "--method", "sam", "--out", str(tmp_path / "sam"), "--model-type", "tiny", "--epochs", "1",
            "--lr", "1e-3", "--batch", "3", "--constraints=-border", "--threshold", "0.3")
    assert r.returncode == 0 and "9 written" in r.stdout, r.stdout + r.stderr
    man = json.loads((tmp_path / "sam" / "manifest.json").read_text())
    assert man["params"]["options"]["tune"]["constraints"] == ["background", "tightness", "scribble", "neighbourhood", "points", "tags"]
    assert man["finetune_seconds"] > 0 and (tmp_path / "sam" / "decoder" / "loss_log.jsonl").is_file()
    r = run(*base, "--method", "sam-scribbles", "--out", str(tmp_path / "ss"), "--model-type", "tiny", "--points", "2",
            "--cache", str(tmp_path / "sam" / "embeddings"))
    assert r.returncode == 0 and "9 written" in r.stdout, r.stderr
    r = run(*base, "--method", "sam-boxes", "--out", str(tmp_path / "sb"), "--model-type", "vit_h",
            "--checkpoint", str(tmp_path / "sam_vit_h_4b8939.pth"))
    assert r.returncode == 1 and "wsseg_download sam_vit_h" in r.stderr and "Traceback" not in r.stderr
    r = run(*base, "--method", "sam-boxes", "--out", str(tmp_path / "sb"), "--model-type", "tiny", "--epochs", "2")
    assert r.returncode == 2 and "--method sam only" in r.stderr
    r = run(*base, "--method", "grabcut", "--out", str(tmp_path / "g"), "--model-type", "tiny")
    assert r.returncode == 2 and "applies to --method sam-boxes or sam-scribbles or sam only" in r.stderr


def test_download_from_a_mirror(tmp_path):
    from wsseg_nb.download import serve_folder
    srv = tmp_path / "srv"
    srv.mkdir()
    (srv / "sam_vit_b_01ec64.pth").write_bytes(b"x" * 1000)   # not the real checkpoint: its size and sha256 differ
    with serve_folder(srv) as url:
        r = run("wsseg_download", "sam_vit_b", "--dest", str(tmp_path / "ck"), "--mirror", url)
    assert r.returncode == 1 and "expected 375042383" in r.stderr and "Traceback" not in r.stderr
    assert not list((tmp_path / "ck").glob("*.pth*"))
    r = run("wsseg_download", "mnist", "--dest", str(tmp_path / "ck"))
    assert r.returncode == 1 and "available: sam_vit_h" in r.stderr


def test_grabcut_is_deterministic_in_any_subset_and_pool(tmp_path):
    """GrabCut is seeded per image: a 3-image run in this process equals the full run in a pool, byte for byte."""
    S = str(sample_root())
    assert subprocess.run(["wsseg_weaklabels", S, "--out", str(tmp_path / "w")], capture_output=True).returncode == 0
    full = subprocess.run(["wsseg_pseudolabel", "--method", "grabcut", "--data-root", S, "--weak-labels", str(tmp_path / "w"),
                           "--out", str(tmp_path / "full"), "--workers", "2"], capture_output=True, text=True)
    assert full.returncode == 0, full.stderr
    ids = sorted(p.stem for p in (tmp_path / "full").glob("*.png"))[3:6]
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    sub = subprocess.run(["wsseg_pseudolabel", "--method", "grabcut", "--data-root", S, "--weak-labels", str(tmp_path / "w"),
                          "--out", str(tmp_path / "sub"), "--split-file", str(tmp_path / "ids.txt"), "--workers", "0"],
                         capture_output=True, text=True)
    assert sub.returncode == 0, sub.stderr
    for i in ids:
        assert (tmp_path / "sub" / f"{i}.png").read_bytes() == (tmp_path / "full" / f"{i}.png").read_bytes(), i


def test_camvid_as_shipped(tmp_path):
    "The three data CLIs on SegNet's CamVid layout (the bundled frames), with --dataset camvid and a split name."
    root, weak = sample_root("camvid"), tmp_path / "weak"
    r = run("wsseg_weaklabels", str(root), "--dataset", "camvid", "--split-file", "val", "--boxes", "simulated",
            "--scribbles", "simulated", "--out", str(weak))
    assert r.returncode == 0 and "6 written" in r.stdout, r.stderr
    objs = [o for p in (weak / "boxes").glob("*.json") for o in json.loads(p.read_text())["objects"]]
    assert objs and {o["class_name"] for o in objs} <= {"pole", "signsymbol", "car", "pedestrian", "bicyclist"}
    r = run("wsseg_pseudolabel", "--dataset", "camvid", "--method", "grabcut", "--data-root", str(root),
            "--weak-labels", str(weak), "--out", str(tmp_path / "pl"), "--workers", "0")
    assert r.returncode == 0 and "6 written" in r.stdout, r.stderr
    r = run("wsseg_evaluate", "--dataset", "camvid", "--pred", str(tmp_path / "pl"), "--data-root", str(root))
    assert r.returncode == 0 and "pedestrian" in r.stdout and "aeroplane" not in r.stdout, r.stderr
    assert 20 < float(r.stdout.strip().splitlines()[-1].split()[1]) < 100
    r = run("wsseg_weaklabels", str(root), "--out", str(tmp_path / "w2"))      # VOC's layout expected: a clear error
    assert r.returncode == 1 and "no JPEGImages/" in r.stderr


def test_a_folder_recorded_before_typed_configs_resumes(sample, tmp_path, monkeypatch):
    "A folder whose manifest holds the older flat options ({} or {'steps': 5}) resumes when they mean the same config."
    import wsseg_nb.pipeline as pipeline
    from wsseg_nb.labellers import GrabCutConfig, labeller_config
    from wsseg_nb.pipeline import make_pseudo_labels
    weak = tmp_path / "weak"
    assert run("wsseg_weaklabels", str(sample), "--out", str(weak), "--split-file", "val").returncode == 0
    typed = pipeline._label_params
    for method, flat in (("grabcut", {}), ("logic", {"steps": 5})):
        out = tmp_path / method
        monkeypatch.setattr(pipeline, "_label_params", lambda *a: {**typed(*a), "options": flat})   # as the older code recorded
        assert make_pseudo_labels(method, sample, weak, out, progress=False, config=labeller_config(method, **flat))["written"] == 1
        monkeypatch.setattr(pipeline, "_label_params", typed)
        s = make_pseudo_labels(method, sample, weak, out, progress=False, config=labeller_config(method, **flat))
        assert s["existing"] == 1 and s["written"] == 0, s
        with pytest.raises(ValueError, match="options was"):   # other options than the folder's: refused as before
            make_pseudo_labels(method, sample, weak, out, progress=False,
                               config=labeller_config(method, steps=7) if method == "logic" else GrabCutConfig(iters=2))
    with pytest.raises(ValueError, match="takes a JudgeConfig"):
        make_pseudo_labels("logic", sample, weak, tmp_path / "x", progress=False, config=labeller_config("grabcut"))
