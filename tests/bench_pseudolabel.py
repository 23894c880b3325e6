"""Benchmark: pseudo-labellers side by side on one set of images: mIoU, per-class IoU, wall time.

Runs `wsseg_pseudolabel --method M` for each method on the same weak labels and images (each run with the
package's defaults: grabcut and logic in a pool of one-thread processes, one per core), then
`evaluate_folder`, and prints a per-class table, each method's mIoU and wall seconds per image, and the
time ratios to the first method. The issue's measure: `--methods grabcut,logic` on the voc_mini half that
nothing was tuned on (`results/voc_mini/splits/report.txt`): logic ahead by >= 3 mIoU at <= 1.2x the time.
`--out DIR` keeps the labels and writes the table as Markdown and JSON there.

Run: `python tests/bench_pseudolabel.py DATA_ROOT WEAK_DIR --split-file F [--methods grabcut,logic] [--out DIR]`.
"""
import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_root"); ap.add_argument("weak_dir")
    ap.add_argument("--split-file", required=True)
    ap.add_argument("--methods", default="grabcut,logic")
    ap.add_argument("--out", default=None, help="keep the pseudo-labels and the table here")
    a = ap.parse_args(argv)
    from wsseg_nb.core import write_json_atomic, write_text_atomic
    from wsseg_nb.datasets import VOC_CLASSES
    from wsseg_nb.pipeline import evaluate_folder
    from wsseg_nb.report import markdown_table
    methods = a.methods.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(a.out) if a.out else Path(tmp)
        res, wall = {}, {}
        for m in methods:
            t0 = time.perf_counter()
            r = subprocess.run(["wsseg_pseudolabel", "--method", m, "--data-root", a.data_root, "--weak-labels", a.weak_dir,
                                "--split-file", a.split_file, "--out", str(root/m), "--force"], capture_output=True, text=True)
            if r.returncode: raise SystemExit(r.stderr)
            wall[m] = time.perf_counter() - t0
            res[m] = evaluate_folder(root/m, a.data_root, a.split_file)
    n = res[methods[0]]["n_images"]
    rows = [{"class": c, **{f"{m} IoU": res[m]["per_class"][c] for m in methods}}
            for c in VOC_CLASSES if any(res[m]["per_class"][c] is not None for m in methods)]
    rows.append({"class": "mIoU", **{f"{m} IoU": res[m]["miou"] for m in methods}})
    rows.append({"class": "wall s / image", **{f"{m} IoU": wall[m] / n for m in methods}})
    table = markdown_table(rows, digits=2 if False else 1)
    print(f"{n} images of {a.split_file}, weak labels {a.weak_dir}")
    print(table)
    for m in methods[1:]:
        print(f"{m} vs {methods[0]}: {res[m]['miou'] - res[methods[0]]['miou']:+.1f} mIoU at {wall[m] / wall[methods[0]]:.2f}x the time "
              f"({wall[m] / n:.2f} vs {wall[methods[0]] / n:.2f} s/image wall)")
    if a.out:
        write_text_atomic(Path(a.out)/"comparison.md", f"**{n} images of {Path(a.split_file).name}; wall s/image includes process start**\n\n{table}\n")
        write_json_atomic(Path(a.out)/"comparison.json", {"split_file": a.split_file, "n_images": n, "wall_seconds": wall,
                                                         "results": res})


if __name__ == "__main__":
    main()
