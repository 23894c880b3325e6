"""Benchmark: your own data with real weak labels from files, no mask used for labelling (issues 20 and 21).

    python tests/bench_own_data.py coco DIR [--out O]           # DIR: images/ + instances.json + ids.txt (coco_tiny/train or val)
    python tests/bench_own_data.py acdc DIR --half tune|report  # DIR: acdc_scribbles (images/, scribbles/, masks/, dataset.json)
    python tests/bench_own_data.py acdc-stage2 DIR [--iters N]  # DeepLabV2 on the tune half's logic pseudo-labels vs its GT, on the report half

COCO: COCO's own boxes (boxes only), scored against COCO's polygons (crowds void): filled boxes, GrabCut,
the logic method (COCO's box_candidates: the judge over two GrabCuts and the inscribed ellipses;
logic:gc+learner, the package's default GrabCut + learner) and an untrained tiny SAM; mIoU over the classes present, seconds per image.
ACDC: the real hand-drawn scribbles only, patients 1-25 (tune) or 26-50 (report), scored against the expert
masks: nearest scribble, the random walker as WSL4MIS runs it (beta 100, mode bf), the logic method without
and with the ACDC priors (wsseg_nb/priors/acdc.py); mean foreground Dice (RV, Myo, LV), per-class Dice, mIoU,
seconds per image. acdc-stage2: DeepLabV2 (ResNet-18, random init: a small run) trained on the logic method's
pseudo-labels of patients 1-25 and, the same way, on their expert masks; both predict patients 26-50, scored
by Dice against the expert masks. Every method runs through the same functions as wsseg_weaklabels / wsseg_pseudolabel /
wsseg_evaluate, on two cores."""
import argparse
import tempfile
from pathlib import Path

import wsseg_nb
from wsseg_nb.core import write_text_atomic
from wsseg_nb.datasets import load_dataset, open_folder
from wsseg_nb.judge import BOX_CANDIDATES
from wsseg_nb.labellers import labeller_config
from wsseg_nb.pipeline import evaluate_folder, make_pseudo_labels, make_weak_labels
from wsseg_nb.weak_sources import WeakSource

PRIORS = Path(wsseg_nb.__file__).parent / "priors" / "acdc.py"


def coco(root: Path, out: Path, methods: list[str]) -> None:
    ids = root / "ids.txt"
    make_weak_labels(root, out / "weak", WeakSource(boxes="coco", coco=str(root / "instances.json"), scribbles="none"), ids, "coco",
                     progress=False)
    print(f"{root} ({len(ids.read_text().split())} images), COCO's boxes only, scored against COCO's polygons")
    print(f"{'method':<30} {'mIoU':>6} {'s/image':>8}")
    for m in methods:
        method, cfg = m, labeller_config(m, model_type="tiny") if m.startswith("sam") else None
        if m == "logic:gc+learner":   # the package's default proposers, where COCO's description names its own (02a_datasets)
            method, cfg = "logic", labeller_config("logic", candidates=BOX_CANDIDATES)
        labels = out / m.replace(":", "_").replace("+", "_")
        s = make_pseudo_labels(method, root, out / "weak", labels, ids, dataset="coco", progress=False, config=cfg)
        r = evaluate_folder(labels, root, ids, dataset="coco", gt_coco=root / "instances.json")
        name = m + (" (tiny SAM, untrained)" if m.startswith("sam") else "")
        print(f"{name:<30} {r['miou']:6.1f} {s['wall_seconds_per_image']:8.2f}", flush=True)


def acdc(root: Path, out: Path, half: str, methods: list[str]) -> None:
    ds = load_dataset(root / "dataset.json")
    patient = lambda i: int(i[7:10])
    ids = [i for i in open_folder(root, ds).split_ids(root / "train.txt") if (patient(i) <= 25) == (half == "tune")]
    split = write_text_atomic(out / f"{half}.txt", "\n".join(ids) + "\n")
    src = WeakSource(boxes="none", scribbles="png", scribble_dir=str(root / "scribbles"))
    make_weak_labels(root, out / "weak", src, split, ds, progress=False)
    print(f"{root}: {len(ids)} slices of patients {'1-25 (tune)' if half == 'tune' else '26-50 (report)'}, real scribbles only")
    print(f"{'method':<26} {'fg Dice':>8} {'RV':>6} {'Myo':>6} {'LV':>6} {'mIoU':>6} {'s/image':>8}")
    for m in methods:
        method, files = ("logic", [PRIORS]) if m == "logic+priors" else (m, [])
        s = make_pseudo_labels(method, root, out / "weak", out / m, split, dataset=ds, constraint_files=files, progress=False)
        r = evaluate_folder(out / m, root, split, dataset=ds)
        d = r["dice"]
        print(f"{m:<26} {r['mean_fg_dice']:8.1f} {d['rv']:6.1f} {d['myo']:6.1f} {d['lv']:6.1f} {r['miou']:6.1f} "
              f"{s['wall_seconds_per_image']:8.2f}", flush=True)


def acdc_stage2(root: Path, out: Path, iters: int) -> None:
    from wsseg_nb.predict import predict_folder
    from wsseg_nb.train import TrainConfig, train_model
    ds = load_dataset(root / "dataset.json")
    patient = lambda i: int(i[7:10])
    ids = open_folder(root, ds).split_ids(root / "train.txt")
    tune = write_text_atomic(out / "tune.txt", "\n".join(i for i in ids if patient(i) <= 25) + "\n")
    report = write_text_atomic(out / "report.txt", "\n".join(i for i in ids if patient(i) > 25) + "\n")
    make_weak_labels(root, out / "weak", WeakSource(boxes="none", scribbles="png", scribble_dir=str(root / "scribbles")), tune, ds,
                     progress=False)
    make_pseudo_labels("logic", root, out / "weak", out / "logic", tune, dataset=ds, progress=False)
    pl = evaluate_folder(out / "logic", root, tune, dataset=ds)
    print(f"pseudo-labels of the tune half (logic): mean foreground Dice {pl['mean_fg_dice']:.1f}")
    cfg = TrainConfig(model="deeplab", arch="resnet18", iters=iters, batch=4, crop=161, lr=0.01, workers=0, save_every=max(iters // 4, 1))
    print(f"{'trained on':<28} {'fg Dice':>8} {'RV':>6} {'Myo':>6} {'LV':>6} {'mIoU':>6}  (patients 26-50, {iters} iterations)")
    for name, labels in (("logic pseudo-labels", out / "logic"), ("expert masks (GT)", "gt")):
        m = out / ("m_" + name.split()[0])
        train_model(labels, root, tune, m, cfg, resume=True, progress=False, dataset=ds)
        predict_folder(m, root, report, out / ("p_" + name.split()[0]), workers=1, progress=False, dataset=ds)
        r = evaluate_folder(out / ("p_" + name.split()[0]), root, report, dataset=ds); d = r["dice"]
        print(f"{name:<28} {r['mean_fg_dice']:8.1f} {d['rv']:6.1f} {d['myo']:6.1f} {d['lv']:6.1f} {r['miou']:6.1f}", flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", choices=("coco", "acdc", "acdc-stage2")); p.add_argument("root", type=Path)
    p.add_argument("--iters", type=int, default=300, help="acdc-stage2: training iterations")
    p.add_argument("--half", choices=("tune", "report"), default="tune", help="acdc: patients 1-25 or 26-50")
    p.add_argument("--methods", default=None, help="comma-separated (default: all of the data's rows)")
    p.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
    a = p.parse_args()
    default = "boxes,grabcut,logic,logic:gc+learner,sam-boxes" if a.data == "coco" else "nearest,random-walker,logic,logic+priors"
    methods = (a.methods or default).split(",")
    with tempfile.TemporaryDirectory() as tmp:
        out = a.out or Path(tmp)
        if a.data == "coco": coco(a.root, out, methods)
        elif a.data == "acdc": acdc(a.root, out, a.half, methods)
        else: acdc_stage2(a.root, out, a.iters)
