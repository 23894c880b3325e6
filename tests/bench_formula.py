"""Instrument: does the formula prefer the truth?

For every image of a split, the formula's log-truth (`wsseg_nb.constraints.formula_terms`) of the GT
is compared with that of three degenerate maps built from the same weak labels:

- filled boxes: every box filled with its class (smaller boxes on top), scribbles painted on top;
- box cross: one row and one column through each box's centre, of the box's class, background elsewhere;
- all background;

and, for images without boxes (scribbles only, e.g. ACDC), with:

- scribbles on background: the scribbles painted on an all-background map (what a labeller that
  learnt nothing returns);
- nearest scribble: each pixel the class of its nearest scribble.

The GT's void band (255) takes the label of the nearest labelled pixel where a box of that class
covers it, background elsewhere: VOC draws the band across the object outline, and calling it all
background would move every outline off the image edge (`--void background` does that instead). The weak labels are those of WEAK_DIR (written by `wsseg_weaklabels`; simulated from the GT on data
without box XMLs). A map the formula ranks above the GT is what an optimiser of the formula would
prefer to the truth. Prints, per reduce, `GT preferred over <map> (<reduce>): k/n` and the median
per-constraint difference GT − map; `--losers` lists, for every image where the GT loses, the
constraint that costs it most.

Priors: `--constraint-file FILE.py` (repeatable) registers a file's constraints; the counts are then
printed for the formula without them and with them (`formula + priors`). A prior that makes the GT lose
where the formula alone preferred it is wrong, whatever it does to a score.

Run: `python tests/bench_formula.py DATA_ROOT WEAK_DIR [--dataset D] [--split-file F] [--size N] [--reduce sum,mean]
[--constraint-file FILE.py ...]`.
"""
import argparse
import statistics
import sys
import time

import numpy as np

BOX_MAPS = ("filled boxes", "box cross", "all background")
SCRIBBLE_MAPS = ("scribbles on background", "nearest scribble", "all background")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_root"); ap.add_argument("weak_dir")
    ap.add_argument("--split-file", default=None, help="ids to use (default: every image with weak labels)")
    ap.add_argument("--size", type=int, default=256, help="working long side (0 = full resolution)")
    ap.add_argument("--reduce", default="sum,mean", help="comma-separated reduces to compare")
    ap.add_argument("--confidence", type=float, default=0.95)
    ap.add_argument("--n-segments", type=int, default=None, help="SLIC superpixels at the working size (default: formula_terms')")
    ap.add_argument("--void", choices=("nearest", "background"), default="nearest",
                    help="the GT's void band (255): nearest labelled pixel (default; VOC draws it across the outline) or background")
    ap.add_argument("--losers", action="store_true", help="list the images where the GT loses, and why")
    ap.add_argument("--dataset", default=None, help="voc (default), camvid, coco or a dataset.json")
    ap.add_argument("--constraint-file", action="append", default=[], help="a file of @constraint priors (repeatable)")
    a = ap.parse_args(argv)
    from pathlib import Path
    from wsseg_nb.baselines import nearest_fill
    from wsseg_nb.constraints import DEFAULT_CONSTRAINTS, load_constraint_files
    from wsseg_nb.formula import degenerate_maps, formula_terms, void_to_nearest
    from wsseg_nb.datasets import open_folder
    from wsseg_nb.weak import load_weak_labels
    voc = open_folder(a.data_root, a.dataset)
    user = tuple(sorted({n for f in load_constraint_files(a.constraint_file) for n in f["constraints"]}))
    formulas = {"formula": DEFAULT_CONSTRAINTS, **({"formula + priors": DEFAULT_CONSTRAINTS + user} if user else {})}
    ids = voc.split_ids(a.split_file) if a.split_file else sorted(p.stem for p in Path(a.weak_dir, "boxes").glob("*.json"))
    reduces = a.reduce.split(",")
    kw = {"size": a.size, "confidence": a.confidence}
    if a.n_segments: kw["n_segments"] = a.n_segments
    MAPS = BOX_MAPS + tuple(m for m in SCRIBBLE_MAPS if m not in BOX_MAPS)
    diffs = {(r, f): {m: [] for m in MAPS} for r in reduces for f in formulas}   # per image: (total diff, {constraint: diff})
    t0 = time.perf_counter()
    for n, i in enumerate(ids, 1):
        weak, image, gt = load_weak_labels(a.weak_dir, i, dataset=voc.dataset), voc.image(i), voc.gt(i)
        if weak.boxes:
            truth = void_to_nearest(gt, weak) if a.void == "nearest" else np.where(gt == 255, 0, gt).astype(np.uint8)
            maps = {"GT": truth, **degenerate_maps(weak)}
        elif weak.has_scribbles:
            truth = np.where(gt == 255, 0, gt).astype(np.uint8)
            maps = {"GT": truth, "scribbles on background": weak.paint_labelled(np.zeros_like(truth)),
                    "nearest scribble": nearest_fill(image, weak), "all background": np.zeros_like(truth)}
        else: continue
        for r in reduces:
            for f, names in formulas.items():
                terms = {k: formula_terms(v, weak, image, reduce=r, constraints=names, **kw) for k, v in maps.items()}
                for m in maps:
                    if m == "GT": continue
                    d = {c: terms["GT"][c] - terms[m].get(c, 0.0) for c in terms["GT"]}
                    diffs[r, f][m].append((i, sum(d.values()), d))
        print(f"\r{n}/{len(ids)} images", end="", file=sys.stderr, flush=True)
    print(f"\r{len(ids)} images in {time.perf_counter() - t0:.0f} s (size {a.size}, confidence {a.confidence}, "
          f"void {a.void}, {kw.get('n_segments', 'default')} superpixels)",
          file=sys.stderr)
    for (r, f), by_map in diffs.items():
        for m, rows in by_map.items():
            if not rows: continue
            wins, ties = sum(t > 1e-6 for _, t, _ in rows), sum(abs(t) <= 1e-6 for _, t, _ in rows)
            print(f"GT preferred over {m} ({r}, {f}): {wins}/{len(rows)}" + (f" ({ties} equal: the map is the GT)" if ties else ""))
        for m, rows in by_map.items():
            if not rows: continue
            names = sorted({c for _, _, d in rows for c in d})
            med = ", ".join(f"{c} {statistics.median(d.get(c, 0.0) for _, _, d in rows):+.2f}" for c in names)
            print(f"  median GT − {m} ({r}, {f}): {med}")
        if a.losers:
            for m, rows in by_map.items():
                for i, t, d in rows:
                    if t <= 1e-6:
                        worst = min(d, key=d.get)
                        print(f"    GT {'equals' if abs(t) <= 1e-6 else 'loses to'} {m} ({r}) on {i}: total {t:+.2f}, "
                              f"most by {worst} {d[worst]:+.2f}")


if __name__ == "__main__":
    main()
