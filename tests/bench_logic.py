"""Benchmark: log-space logic vs a direct probability-space implementation on a 21x512x512 tensor.

Prints forward+backward time and peak memory of `exists` over a neighbourhood-sized dim (the 8
neighbours of every pixel) and of `lor`, for both implementations, and shows the probability-space
forall underflowing where the log-space one does not.  Run: `python tests/bench_logic.py`.
"""
import math
import multiprocessing as mp
import resource
import time

import torch

C, H, W, K = 21, 512, 512, 8
REPEATS = 5


def _neighbours(x: torch.Tensor) -> torch.Tensor:
    "(C,H,W) -> (C,H,W,8): the 8 neighbours of every pixel, replicate-padded at the border."
    pad = torch.nn.functional.pad(x[None], (1, 1, 1, 1), mode="replicate")[0]
    offs = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    return torch.stack([pad[:, 1 + dy:1 + dy + H, 1 + dx:1 + dx + W] for dy, dx in offs], dim=-1)


def _case(name: str):
    from wsseg_nb.logic import exists, lor
    torch.manual_seed(0)
    torch.set_num_threads(torch.get_num_threads())
    logits = torch.randn(C, H, W)
    def run():
        z = logits.clone().requires_grad_()
        if name == "exists/log":
            out = exists(_neighbours(torch.log_softmax(z, 0)), dim=-1).sum()
        elif name == "exists/prob":
            p = torch.softmax(z, 0)
            out = (1 - (1 - _neighbours(p)).prod(dim=-1)).log().sum()
        elif name == "lor/log":
            lp = torch.log_softmax(z, 0)
            out = lor(lp, lp.roll(1, 0)).sum()
        elif name == "lor/prob":
            p = torch.softmax(z, 0); q = p.roll(1, 0)
            out = (p + q - p * q).log().sum()
        out.backward()
        return out.item(), z.grad
    run()  # warm-up
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    for _ in range(REPEATS): val, grad = run()
    dt = (time.perf_counter() - t0) / REPEATS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return name, dt * 1000, peak / 1024, val, bool(torch.isfinite(grad).all())


def _underflow():
    from wsseg_nb.logic import forall
    p = torch.full((H, W), 0.999)
    return p.prod().item(), forall(p.log()).item()


if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    print(f"log-space logic vs probability space, tensor {C}x{H}x{W}, forward+backward, mean of {REPEATS}, "
          f"{torch.get_num_threads()} threads")
    print(f"{'case':<14}{'ms':>10}{'peak RSS MiB':>15}{'value':>16}  finite grad")
    rows = {}
    for name in ("exists/log", "exists/prob", "lor/log", "lor/prob"):
        with ctx.Pool(1) as pool:  # a fresh process per case, so peak RSS is that case's own
            name, ms, mib, val, finite = pool.apply(_case, (name,))
        rows[name] = ms
        print(f"{name:<14}{ms:>10.1f}{mib:>15.0f}{val:>16.4g}  {finite}")
    print(f"log/prob time ratio: exists {rows['exists/log'] / rows['exists/prob']:.2f}x, "
          f"lor {rows['lor/log'] / rows['lor/prob']:.2f}x")
    prob, logv = _underflow()
    print(f"forall over {H}x{W} pixels of truth 0.999: probability space {prob!r} (underflow), "
          f"log space {logv:.2f} = log({math.exp(logv / math.log(10) % 1 * math.log(10)):.2f}e{math.floor(logv / math.log(10))})")
