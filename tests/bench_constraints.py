"""Benchmark: the full constraint loss on one 500x375 image with 3 classes present.

Prints forward+backward time of `build_loss` (the poster's constraints plus box exclusivity) at full
resolution, its peak memory, and the speed-up over a straightforward per-pixel Python reference of
the same formula on a small crop (per pixel).  Target: the whole loss under 100 ms on the 2-core CPU.
Run: `python tests/bench_constraints.py`.
"""
import math
import multiprocessing as mp
import resource
import statistics
import time

import numpy as np
import torch

IMAGE = "2011_000025"  # bus + car + background, 500x375, in the bundled sample
NAMES = ("background", "tightness", "scribble", "neighbourhood", "border", "exclusivity")
REPEATS = 15


def _setup(crop=None):
    from wsseg_nb.constraints import encode_weak
    from wsseg_nb.superpixels import slic_superpixels
    from wsseg_nb.datasets import open_folder, sample_root
    from wsseg_nb.simulate import simulate_weak_labels
    voc = open_folder(sample_root())
    img, gt = voc.image(IMAGE), voc.gt(IMAGE)
    weak = simulate_weak_labels(IMAGE, gt, seed=0)
    lab = encode_weak(weak, superpixels=slic_superpixels(img))
    torch.manual_seed(0)
    logits = torch.randn(lab.n_channels, lab.height, lab.width)
    return lab, logits


def _tensorised():
    from wsseg_nb.constraints import build_loss
    lab, logits = _setup()
    times = []
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(REPEATS + 2):
        z = logits.clone().requires_grad_()
        t0 = time.perf_counter()
        loss, _ = build_loss(torch.log_softmax(z, 0), lab, NAMES, reduce="mean")
        loss.backward()
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return statistics.median(times[2:]), lab.n_channels, lab.height, lab.width, (peak - base) / 1024, peak / 1024


def _reference(size=24):
    "The neighbourhood rules and border precision, one pixel and one pair at a time, on a size x size crop."
    from wsseg_nb.constraints import OFFSETS
    from wsseg_nb.logic import exists, forall, limplies, lnot
    lab, logits = _setup()
    z = logits[:, 100:100 + size, 200:200 + size].clone().requires_grad_()
    sp = lab.superpixels[100:100 + size, 200:200 + size]
    t0 = time.perf_counter()
    log_p = torch.log_softmax(z, 0)
    C, H, W = log_p.shape
    total = 0.0
    for c in range(C):
        for y in range(H):
            for x in range(W):
                nb = torch.stack([log_p[c, y + dy, x + dx] for dy, dx in OFFSETS[4] if 0 <= y + dy < H and 0 <= x + dx < W])
                total = total + limplies(log_p[c, y, x], exists(nb)) + limplies(forall(nb), log_p[c, y, x])
    for y in range(H):
        for x in range(W):
            for y2, x2 in ((y, x + 1), (y + 1, x)):
                if y2 < H and x2 < W and sp[y, x] == sp[y2, x2]:
                    total = total + torch.logsumexp(log_p[:, y, x] + log_p[:, y2, x2], 0)
    total.backward()
    return time.perf_counter() - t0, H * W


def _tensorised_crop(size=24):
    from wsseg_nb.constraints import ImageLabels, border_precision, neighbourhood
    lab, logits = _setup()
    sp = lab.superpixels[100:100 + size, 200:200 + size]
    crop = ImageLabels(lab.classes, size, size, superpixels=sp)
    z = logits[:, 100:100 + size, 200:200 + size].clone().requires_grad_()
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        lp = torch.log_softmax(z, 0)
        (neighbourhood(lp, crop) + border_precision(lp, crop)).backward()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[2:]), size * size


if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        t, C, H, W, extra_mib, peak_mib = pool.apply(_tensorised)
    print(f"full loss {NAMES}: {C} channels x {H}x{W}, forward+backward median of {REPEATS}: {t * 1000:.1f} ms "
          f"({torch.get_num_threads()} threads); target < 100 ms: {'met' if t < 0.1 else 'NOT met'}")
    print(f"peak RSS {peak_mib:.0f} MiB, of which {extra_mib:.0f} MiB during the loss")
    with ctx.Pool(1) as pool:
        t_ref, n_ref = pool.apply(_reference)
        t_vec, n_vec = pool.apply(_tensorised_crop)
    print(f"per-pixel reference (neighbourhood + border), 24x24 crop: {t_ref * 1000:.0f} ms = "
          f"{t_ref / n_ref * 1e6:.0f} us/pixel; tensorised on the same crop: {t_vec * 1000:.2f} ms; "
          f"speed-up {t_ref / t_vec:.0f}x on the crop, {t_ref / n_ref / (t / (H * W)):.0f}x per pixel at full size")
