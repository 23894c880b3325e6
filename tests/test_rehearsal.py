"""The paper profile, rehearsed: its notebooks, parameters and code path on a small VOC-layout folder with
box XMLs and ScribbleSup scribbles, tiny models, CPU (issue 11); and its dry run."""
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

from wsseg_nb.datasets import VOC_CLASSES, open_folder, sample_root
from wsseg_nb.simulate import simulate_boxes
from wsseg_nb.weak_formats import read_scribble_txt, read_scribbles, read_voc_xml


def _xml(tag: str, children) -> ET.Element:
    e = ET.Element(tag)
    for k, v in children:
        e.append(v if isinstance(v, ET.Element) else _leaf(k, v))
    return e


def _leaf(tag: str, text) -> ET.Element:
    e = ET.Element(tag); e.text = str(text); return e


def write_voc_xml(path: Path, image_id: str, gt: np.ndarray) -> int:
    "A VOC annotation: one box per GT component (1-based, inclusive corners, as VOC writes them)."
    h, w = gt.shape
    objs = [_xml("object", [("name", VOC_CLASSES[b.class_id]), ("difficult", 0), ("truncated", 0),
                            ("bndbox", _xml("bndbox", [("xmin", b.box_xyxy[0] + 1), ("ymin", b.box_xyxy[1] + 1),
                                                       ("xmax", b.box_xyxy[2]), ("ymax", b.box_xyxy[3])]))])
            for b in simulate_boxes(gt)]
    root = _xml("annotation", [("filename", f"{image_id}.jpg"),
                               ("size", _xml("size", [("width", w), ("height", h), ("depth", 3)])), *[("object", o) for o in objs]])
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path)
    return len(objs)


def write_scribblesup_xml(path: Path, gt: np.ndarray) -> None:
    "A ScribbleSup-style XML: per GT region, one polyline along the inside of its outline."
    h, w = gt.shape
    polys = []
    for c in np.unique(gt):
        if c == 255: continue
        region = cv2.erode((gt == c).astype(np.uint8), np.ones((9, 9), np.uint8))
        contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        for cnt in contours:
            if len(cnt) < 20: continue
            pts = cnt[::max(len(cnt) // 40, 1), 0]
            polys.append(_xml("polygon", [("tag", VOC_CLASSES[c]),
                                          *[("point", _xml("point", [("X", x), ("Y", y)])) for x, y in pts]]))
    root = _xml("annotation", [("size", _xml("size", [("width", w), ("height", h)])), *[("polygon", p) for p in polys]])
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path)


def make_voc_folder(dest: Path, n_train: int = 3, n_aug: int = 2, n_val: int = 2, without_scribbles: int = 1) -> dict:
    "A VOC 2012 + SBD + ScribbleSup layout from the bundled sample; the last train_aug image has no scribble file."
    src = open_folder(sample_root())
    ids = src.all_ids()
    train, aug, val = ids[:n_train], ids[n_train:n_train + n_aug], ids[n_train + n_aug:n_train + n_aug + n_val]
    for i in train + aug + val:
        (dest/"JPEGImages").mkdir(parents=True, exist_ok=True); (dest/"SegmentationClass").mkdir(exist_ok=True)
        (dest/"JPEGImages"/f"{i}.jpg").write_bytes(src.image_path(i).read_bytes())
        (dest/"SegmentationClass"/f"{i}.png").write_bytes(src.gt_path(i).read_bytes())
        write_voc_xml(dest/"Annotations"/f"{i}.xml", i, src.gt(i))
    for i in (train + aug)[:len(train + aug) - without_scribbles] + val:
        write_scribblesup_xml(dest/"ScribbleSup"/"pascal_2012"/f"{i}.xml", src.gt(i))
    sets = dest/"ImageSets"/"Segmentation"; sets.mkdir(parents=True)
    for name, members in (("train", train), ("val", val), ("train_aug", train + aug)):
        (sets/f"{name}.txt").write_text("\n".join(members) + "\n")
    return {"train": train, "train_aug": train + aug, "val": val}


def test_fixture_reads_back(tmp_path):
    split = make_voc_folder(tmp_path/"VOC2012")
    voc = open_folder(tmp_path/"VOC2012")
    i = split["train"][0]
    assert {b.box_xyxy for b in read_voc_xml(voc.weak_file("xml", i))[2]} == {b.box_xyxy for b in simulate_boxes(voc.gt(i))}
    scr = read_scribbles(voc.weak_file("scribblesup", i), *voc.size(i))
    on = scr != 255
    assert on.sum() > 50 and (scr[on] == voc.gt(i)[on]).mean() > 0.9   # strokes lie inside their regions
    assert voc.weak_file("scribblesup", split["train_aug"][-1]) is None


def test_paper_dry_run_shows_the_published_setup():
    r = subprocess.run(["wsseg_reproduce", "--profile", "paper", "--dry-run"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    runs = {d["experiment"]: d["parameters"] for d in map(json.loads, r.stdout.splitlines())}
    assert all(p["device"] == "cuda" for p in runs.values())
    t1, t2, t3 = runs["t1_pseudo_labels"], runs["t2_mask2former"], runs["t3_deeplabv2"]
    assert (t1["boxes"], t1["scribbles"], t1["split"], t1["stage1"]) == ("xml", "scribblesup", "train_aug", "sam+scribbles")
    assert t3["msc"] is True and t3["test_scales"] == "0.5,0.75,1" and t3["arch"] == "resnet101"
    assert t2["pseudo_labels"] == t3["pseudo_labels"] == str(Path(t1["out_dir"])/"stage1")


def test_paper_profile_without_a_gpu_stops_clearly(tmp_path):
    import torch
    if torch.cuda.is_available(): pytest.skip("this machine has CUDA")
    r = subprocess.run(["wsseg_reproduce", "--profile", "paper", "--only", "f0_logic"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "--device cpu" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path/"results").exists()


@pytest.mark.slow   # ~2 min alone, ~7 beside other tests: the experiment notebooks' smoke runs (nbdev_test) cover each step
def test_rehearsal_runs_the_paper_path(tmp_path):
    split = make_voc_folder(tmp_path/"VOC2012")
    r = subprocess.run(["wsseg_reproduce", "--profile", "rehearsal", "--data-root", str(tmp_path/"VOC2012"),
                        "--out-dir", str(tmp_path/"results"), "--fig-dir", str(tmp_path/"figures")],
                       cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    res = tmp_path/"results"/"rehearsal"
    metrics = {d.name: json.loads((d/"metrics.json").read_text()) for d in res.iterdir() if (d/"metrics.json").is_file()}
    assert {"f0_logic", "t1_pseudo_labels", "f1_overlays", "t2_mask2former", "t3_deeplabv2", "t4_constraint_ablation"} <= set(metrics)
    t1 = metrics["t1_pseudo_labels"]
    assert t1["weak_labels"] == "xml+scribblesup" and t1["without_scribbles"] == 1
    assert t1["n_labelled"] == len(split["train_aug"]) and t1["n_images"] == len(split["train"])
    stage1 = res / "t1_pseudo_labels" / t1["pseudo_labels"]   # recorded relative to the run's folder
    assert not Path(t1["pseudo_labels"]).is_absolute()
    assert sorted(p.stem for p in stage1.glob("*.png")) == sorted(split["train_aug"])
    for t in ("t2_mask2former", "t3_deeplabv2"):
        assert (res / t / metrics[t]["pseudo_labels"]).resolve() == stage1.resolve() and metrics[t]["weak_labels"] == "xml+scribblesup"
    assert metrics["t3_deeplabv2"]["msc"] is True
    assert metrics["f1_overlays"]["weak_labels"] == metrics["t4_constraint_ablation"]["weak_labels"] == "xml+scribblesup"
    for table in ("t1_pseudo_labels", "t2_mask2former", "t3_deeplabv2", "t4_constraint_ablation"):
        assert (res/table/f"{table}.md").is_file() and (res/table/f"{table}.csv").is_file()
    figs = {p.name for p in (tmp_path/"figures"/"rehearsal").glob("*.png")}
    assert {"f0_logic.png", "f1_overlays.png", "f2_deeplabv2_predictions.png", "f2_mask2former_predictions.png"} <= figs
