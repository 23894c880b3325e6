"""Benchmark: the annotator's latency from an edit to a new overlay, on 500x375 VOC images, on this machine's CPU.

Each edit is what a user does in the browser: a box, then another, then a scribble, then a point, on each of
N images of `voc_mini` (or of the bundled sample when `../shared/data/voc_mini` is absent) whose size is 500x375.
The boxes and scribbles are simulated from the GT (as a user would draw them). Timed per edit: the annotator's
whole reaction (save the weak-label files, label with the method, the constraints' groundings for the why views,
the overlay PNGs), with `Annotator(..., background=False)` so each edit is timed on its own.

- `logic`: the package's CPU labeller.
- `sam decoder`: SAM's prompt encoder + mask decoder from a cached embedding (`sam-boxes`, then `sam-scribbles`
  edits prompt by scribble too). The decoder is the same size for vit_b/l/h, so a randomly initialised vit_b
  (no checkpoint can be downloaded here) measures the real latency; its encoder runs once per image to fill the
  cache, before the timing.

Run: `python tests/bench_annotate.py [--images N] [--data DIR]`. The last line reads
`annotate latency: logic median X s p90 Y s; sam decoder median Z s p90 V s`.
"""
import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def edits(folder, image_id):
    "The shapes after each edit: up to two boxes, a scribble, a point (simulated from the GT)."
    from wsseg_nb.simulate import simulate_weak_labels
    weak = simulate_weak_labels(image_id, folder.gt(image_id), seed=0, line_width=8)
    boxes = [{"kind": "box", "cls": b.class_id, "xyxy": list(b.box_xyxy)} for b in weak.boxes[:2]]
    shapes, out = [], []
    for b in boxes: shapes = shapes + [b]; out.append(shapes)
    ys, xs = np.nonzero((weak.scribbles != 255) & (weak.scribbles != 0)) if weak.scribbles is not None else ((), ())
    if len(xs):
        c = int(weak.scribbles[ys[0], xs[0]]); k = np.nonzero(weak.scribbles == c)
        pts = np.stack([k[1], k[0]], 1)[:: max(1, len(k[0]) // 20)][:20].tolist()
        shapes = shapes + [{"kind": "scribble", "cls": c, "width": 8, "xy": pts}]; out.append(shapes)
        shapes = shapes + [{"kind": "point", "cls": c, "x": int(xs[len(xs) // 2]), "y": int(ys[len(ys) // 2]), "positive": True}]
        out.append(shapes)
    return out


def run(method, root, ids, out, options=None):
    from wsseg_nb.annotate import Annotator
    a = Annotator(root, out, split_file=ids, method=method, options=options, background=False)
    seconds = []
    for k, i in enumerate(ids):
        a.go(k)
        for shapes in edits(a.folder, i):
            t0 = time.perf_counter(); a.shapes = shapes; seconds.append(time.perf_counter() - t0)
            assert a.label is not None, a.status
    return np.array(seconds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=5)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data" / "voc_mini"))
    args = ap.parse_args()
    from wsseg_nb import sam as sam_mod
    from wsseg_nb.core import set_threads
    from wsseg_nb.datasets import open_folder, sample_root
    root = Path(args.data) if Path(args.data).is_dir() else sample_root("voc")
    folder = open_folder(root)
    ids = [i for i in folder.with_gt(folder.all_ids()) if folder.size(i) == (375, 500)][: args.images]
    threads = set_threads()
    print(f"machine: {platform.processor() or platform.machine()}, {threads} threads, torch {torch.__version__}; "
          f"{len(ids)} images of {root} (500x375)")
    tmp = Path(tempfile.mkdtemp())
    logic = run("logic", root, ids, tmp / "logic")
    print(f"logic: {len(logic)} edits, median {np.median(logic):.3f} s, p90 {np.percentile(logic, 90):.3f} s, max {logic.max():.3f} s")
    from segment_anything import sam_model_registry
    torch.manual_seed(0)
    vit_b = sam_model_registry["vit_b"]().eval()
    vit_b.wsseg_fingerprint = "vit_b-random-bench"
    sam_mod.get_sam = lambda *a, **k: vit_b   # the labeller's model: random vit_b (same decoder as vit_h)
    cache = tmp / "emb"
    for i in ids: sam_mod.image_embedding(vit_b, folder.image(i), i, sam_mod.EmbeddingCache(cache, vit_b.wsseg_fingerprint))
    sam = np.concatenate([run(m, root, ids, tmp / m, {"cache": str(cache)}) for m in ("sam-boxes", "sam-scribbles")])
    print(f"sam decoder: {len(sam)} edits, median {np.median(sam):.3f} s, p90 {np.percentile(sam, 90):.3f} s, max {sam.max():.3f} s")
    print(f"annotate latency: logic median {np.median(logic):.2f} s p90 {np.percentile(logic, 90):.2f} s; "
          f"sam decoder median {np.median(sam):.3f} s p90 {np.percentile(sam, 90):.3f} s")


if __name__ == "__main__":
    main()
