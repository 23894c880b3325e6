"""Your own data, without masks: weak labels from files for any dataset, through both stages (issue 20).

Each command runs as a user types it (a subprocess, as in test_cli); folders are copies of the bundled
samples (COCO: images + instances.json, no masks; ACDC: 16-bit MRI slices, scribble label maps, its own
dataset.json) or written by the test (a CVAT export on VOC sample images)."""
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from wsseg_nb.datasets import COCO, sample_root
from wsseg_nb.images import read_label_png
from wsseg_nb.weak import load_weak_labels


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600)


def one_error_line(r, *names):
    "Exit code 1, no traceback, one `tool: error:` line naming each of `names`."
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    errors = [l for l in r.stderr.splitlines() if ": error: " in l]
    assert len(errors) == 1, r.stderr
    for n in names: assert str(n) in errors[0], (n, errors[0])


@pytest.fixture()
def coco(tmp_path):
    "A copy of the bundled COCO sample: images/, instances.json, ids.txt and no mask anywhere."
    d = tmp_path / "coco"
    shutil.copytree(sample_root("coco"), d)
    assert not (d / "masks").exists()
    return d


@pytest.fixture()
def acdc(tmp_path):
    d = tmp_path / "acdc"
    shutil.copytree(sample_root("acdc"), d)
    return d


def test_coco_folder_without_masks_through_stage_1(coco, tmp_path):
    w, ids = tmp_path / "w", coco / "ids.txt"
    r = run("wsseg_weaklabels", coco, "--dataset", "coco", "--split-file", ids, "--boxes", "coco", "--coco",
            coco / "instances.json", "--scribbles", "none", "--out", w)
    assert r.returncode == 0 and "10 written" in r.stdout and "58 boxes" in r.stdout and "1 crowds" in r.stdout, r.stdout + r.stderr
    crowd = load_weak_labels(w, "000000087038", dataset=COCO)
    assert crowd.unknown is not None and crowd.unknown.sum() > 1000
    for method, *more in (("grabcut",), ("logic",), ("logic", "--candidates", "grabcut,learner")):
        p = tmp_path / f"pl_{method}{'_'.join(more[1:])}"
        r = run("wsseg_pseudolabel", "--dataset", "coco", "--method", method, "--data-root", coco, "--weak-labels", w,
                "--out", p, "--split-file", ids, *more)
        assert r.returncode == 0 and "10 written" in r.stdout, r.stdout + r.stderr
        values = set().union(*(np.unique(read_label_png(p / f"{i}.png")).tolist() for i in ids.read_text().split()))
        assert values - {255} <= set(range(81)) and values & {1, 20, 21, 22}, values   # COCO ids: person 1, cow 20, ...
        assert (read_label_png(p / "000000087038.png")[crowd.unknown] == 255).all()    # nothing learnt from the crowd
    opts = {p: json.loads((tmp_path / p / "manifest.json").read_text())["params"]["options"] for p in ("pl_logic", "pl_logicgrabcut,learner")}
    assert opts["pl_logic"]["box_candidates"] == ["grabcut", "grabcut_image", "ellipse"], "COCO's description names its proposers"
    assert opts["pl_logicgrabcut,learner"]["candidates"] == ["grabcut", "learner"], "--candidates overrides them"
    r = run("wsseg_pseudolabel", "--dataset", "coco", "--method", "logic", "--data-root", coco, "--weak-labels", w,
            "--out", tmp_path / "bad", "--candidates", "grabcut,elipse")
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1 and "elipse" in err[0] and "'ellipse'" in err[0], (r.returncode, r.stderr)   # a usage error
    r = run("wsseg_evaluate", "--dataset", "coco", "--pred", tmp_path / "pl_logic", "--data-root", coco)
    one_error_line(r, "none of the 10 images has GT", "--gt-coco")
    r = run("wsseg_evaluate", "--dataset", "coco", "--pred", tmp_path / "pl_logic", "--data-root", coco,
            "--gt-coco", coco / "instances.json")
    assert r.returncode == 0 and float(r.stdout.strip().splitlines()[-1].split()[-1]) > 20, r.stdout + r.stderr


def test_folder_with_partial_masks_scores_the_rest(acdc, tmp_path):
    ds = acdc / "dataset.json"
    for i in ("patient002_frame12_slice_2", "patient002_frame12_slice_5"): (acdc / "masks" / f"{i}.png").unlink()
    w = tmp_path / "w"
    assert run("wsseg_weaklabels", acdc, "--dataset", ds, "--split-file", acdc / "val.txt", "--boxes", "none",
               "--scribbles", "png", "--scribble-dir", acdc / "scribbles", "--out", w).returncode == 0
    assert run("wsseg_pseudolabel", "--dataset", ds, "--method", "boxes", "--data-root", acdc, "--weak-labels", w,
               "--out", tmp_path / "pl").returncode == 0
    r = run("wsseg_evaluate", "--dataset", ds, "--pred", tmp_path / "pl", "--data-root", acdc)
    assert r.returncode == 0 and "images: 2" in r.stdout and "not scored: 2 image(s) without GT" in r.stdout, r.stdout


def test_acdc_scribbles_both_stages(acdc, tmp_path):
    ds, w, pl = acdc / "dataset.json", tmp_path / "w", tmp_path / "pl"
    r = run("wsseg_weaklabels", acdc, "--dataset", ds, "--split-file", acdc / "train.txt", "--boxes", "none",
            "--scribbles", "png", "--scribble-dir", acdc / "scribbles", "--out", w)
    assert r.returncode == 0 and "4 written" in r.stdout, r.stdout + r.stderr
    r = run("wsseg_pseudolabel", "--dataset", ds, "--method", "logic", "--data-root", acdc, "--weak-labels", w, "--out", pl,
            "--workers", "0")
    assert r.returncode == 0 and "4 written" in r.stdout, r.stdout + r.stderr
    r = run("wsseg_evaluate", "--dataset", ds, "--pred", pl, "--data-root", acdc, "--split-file", acdc / "train.txt")
    assert r.returncode == 0 and "mean foreground Dice" in r.stdout and "myo" in r.stdout, r.stdout + r.stderr
    m = tmp_path / "model"
    r = run("wsseg_train", "deeplab", "--dataset", ds, "--labels", pl, "--data-root", acdc, "--split-file", acdc / "train.txt",
            "--out", m, "--arch", "resnet18", "--iters", "2", "--batch", "2", "--crop", "65", "--workers", "0")
    assert r.returncode == 0, r.stdout + r.stderr
    r = run("wsseg_predict", m, "--dataset", ds, "--data-root", acdc, "--split-file", acdc / "val.txt", "--out", tmp_path / "pred")
    assert r.returncode == 0 and "4 written" in r.stdout, r.stdout + r.stderr
    assert set(np.unique(read_label_png(tmp_path / "pred" / "patient002_frame01_slice_0.png")).tolist()) <= {0, 1, 2, 3}
    r = run("wsseg_predict", m, "--data-root", acdc, "--split-file", acdc / "val.txt", "--out", tmp_path / "pred_voc")
    one_error_line(r, "was trained on dataset 'acdc'", "--dataset")


def _cvat(path: Path, images: list[tuple[str, int, int]]) -> None:
    "A CVAT for images 1.1 export: on the first image a box, a polyline, two points (one negative) and a tag."
    root = ET.Element("annotations"); ET.SubElement(root, "version").text = "1.1"
    for k, (name, w, h) in enumerate(images):
        im = ET.SubElement(root, "image", id=str(k), name=f"frames/{name}.jpg", width=str(w), height=str(h))
        if k: continue
        ET.SubElement(im, "box", label="dog", source="manual", occluded="0", xtl="10.2", ytl="20", xbr="200.7", ybr="150", z_order="0")
        ET.SubElement(im, "polyline", label="background", source="manual", occluded="0", points="5,250;400,250")
        ET.SubElement(im, "points", label="dog", source="manual", occluded="0", points="100,80")
        neg = ET.SubElement(im, "points", label="person", source="manual", occluded="0", points="30,40")
        ET.SubElement(neg, "attribute", name="negative").text = "true"
        ET.SubElement(im, "tag", label="dog", source="manual")
        ET.SubElement(im, "polygon", label="cat", source="manual", occluded="0", points="0,0;5,0;5,5")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def test_cvat_export_gives_every_weak_label_kind(tmp_path):
    voc = sample_root()
    ids = ["2007_004166", "2007_001185"]
    sizes = [Image.open(voc / "JPEGImages" / f"{i}.jpg").size for i in ids]
    _cvat(tmp_path / "annotations.xml", [(i, w, h) for i, (w, h) in zip(ids, sizes)])
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    w = tmp_path / "w"
    r = run("wsseg_weaklabels", voc, "--weak", "cvat", "--cvat", tmp_path / "annotations.xml", "--split-file", tmp_path / "ids.txt",
            "--line-width", "5", "--out", w)
    assert r.returncode == 0 and "1 boxes, 2 points" in r.stdout and "1 tagged" in r.stdout, r.stdout + r.stderr
    assert "1 polygon are not weak labels this package reads" in r.stderr, r.stderr
    a = load_weak_labels(w, ids[0])
    assert [(b.class_id, b.box_xyxy, b.source) for b in a.boxes] == [(12, (10, 20, 201, 150), "cvat")]
    assert [(p.class_id, p.x, p.y, p.positive) for p in a.points] == [(12, 100, 80, True), (15, 30, 40, False)]
    assert a.tags == (12,) and a.scribble_source == "cvat" and (a.scribbles[248:253, 5:401] == 0).all()
    assert set(np.unique(a.scribbles).tolist()) == {0, 255} and (a.scribbles[:245] == 255).all()
    b = load_weak_labels(w, ids[1])
    assert (b.boxes, b.points, b.tags, b.scribbles) == ([], [], None, None)
    r = run("wsseg_pseudolabel", "--method", "logic", "--data-root", voc, "--weak-labels", w, "--out", tmp_path / "pl",
            "--split-file", tmp_path / "ids.txt")
    assert r.returncode == 0, r.stdout + r.stderr
    assert read_label_png(tmp_path / "pl" / f"{ids[0]}.png")[80, 100] == 12   # the dog click is a label


def test_points_and_tags_reach_the_learner_and_sam():
    from wsseg_nb.datasets import open_folder
    from wsseg_nb.learner import LearnerConfig, logic_learner
    from wsseg_nb.sam import load_sam
    from wsseg_nb.sam_finetune import SamTuneConfig, image_loss
    from wsseg_nb.simulate import simulate_weak_labels
    from wsseg_nb.weak import Point
    from dataclasses import replace
    voc = open_folder(sample_root()); i = "2011_000025"   # a bus (6) and a car (7)
    weak = replace(simulate_weak_labels(i, voc.gt(i)), points=[Point(6, 250, 100), Point(7, 10, 10, False)], tags=(6, 7))
    hist = []
    logic_learner(voc.image(i), weak, LearnerConfig(steps=2, size=64, n_segments=50), history=hist)
    assert {"points", "tags"} <= set(hist[-1]), hist[-1]
    loss, terms = image_loss(load_sam("tiny"), voc.image(i), weak, SamTuneConfig(size=64, n_segments=50))
    assert {"points", "tags"} <= set(terms) and float(terms["points"]) < 0


def test_bad_own_data_inputs_are_one_line(coco, acdc, tmp_path):
    ids = coco / "ids.txt"
    base = ["wsseg_weaklabels", coco, "--dataset", "coco", "--split-file", ids, "--scribbles", "none"]
    d = json.loads((coco / "instances.json").read_text())
    d["categories"][0]["name"] = "human"; (tmp_path / "c.json").write_text(json.dumps(d))
    r = run(*base, "--boxes", "coco", "--coco", tmp_path / "c.json", "--out", tmp_path / "w1")
    one_error_line(r, "c.json", "['human'] match no thing class", "--category-map")
    (tmp_path / "map.json").write_text(json.dumps({"human": "person"}))
    r = run(*base, "--boxes", "coco", "--coco", tmp_path / "c.json", "--category-map", tmp_path / "map.json", "--out", tmp_path / "w1")
    assert r.returncode == 0 and "58 boxes" in r.stdout, r.stderr
    (coco / "images" / "000000184321.jpg").unlink()   # listed in the split and the JSON, missing from the folder
    r = run(*base, "--boxes", "coco", "--coco", coco / "instances.json", "--out", tmp_path / "w2")
    one_error_line(r, "1 of the 10 images", "no image file", "--skip-bad")
    r = run(*base, "--boxes", "coco", "--coco", coco / "instances.json", "--out", tmp_path / "w2", "--skip-bad")
    assert r.returncode == 0 and "9 written" in r.stdout and "1 skipped" in r.stdout, r.stdout + r.stderr
    a = ["wsseg_weaklabels", acdc, "--dataset", acdc / "dataset.json", "--split-file", acdc / "train.txt", "--boxes", "none",
         "--scribbles", "png", "--scribble-dir", acdc / "scribbles"]
    s = acdc / "scribbles" / "patient001_frame01_slice_3.png"
    Image.fromarray(np.full((10, 10), 255, np.uint8)).save(s)
    one_error_line(run(*a, "--out", tmp_path / "w3"), s.name, "is 10x10, the image is 216x256")
    Image.fromarray(np.full((256, 216), 7, np.uint8)).save(s)
    one_error_line(run(*a, "--out", tmp_path / "w4"), s.name, "values [7]", "--unlabelled")
    (tmp_path / "bad.xml").write_text("<annotations><image id='0' name='x.jpg'")
    one_error_line(run("wsseg_weaklabels", sample_root(), "--weak", "cvat", "--cvat", tmp_path / "bad.xml", "--out", tmp_path / "w5"),
                   "Malformed CVAT file", "bad.xml")
