"""Benchmark: stage-2 training iteration time and peak memory, DeepLabV2 and Mask2Former.

CPU (default): batch 2, random weights, DeepLabV2 with the paper's ResNet-101 at crop 321 and
Mask2Former with Swin-T at crop 512 (plus the tiny configs the tests use). Each model runs in its own
process (peak RSS is its own): 1 warm-up iteration, then the mean of `--iters` timed iterations of
forward + loss + backward + optimiser step on random images and labels.

With `--gpu` on a CUDA machine: bf16 autocast at the paper's settings (DeepLabV2 ResNet-101, batch 10,
crop 321; Mask2Former Swin-L, batch 16, crop 512): images/s and peak GPU memory.

Run: `python tests/bench_train.py [--iters N] [--gpu]`.
"""
import argparse
import multiprocessing as mp
import resource
import time


def _child(model, arch, batch, crop, iters, device, q):
    import torch
    from wsseg_nb.train import TASKS, TrainConfig
    torch.manual_seed(0)
    cfg = TrainConfig(model=model, arch=arch, batch=batch, crop=crop, iters=iters)
    task = TASKS[model]
    net = task.build(cfg).to(device).train()
    opt = task.optimizer(net, cfg)
    x = torch.randn(batch, 3, crop, crop, device=device)
    y = torch.randint(0, 21, (batch, crop, crop), device=device)
    y[:, :8] = 255
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times = []
    for k in range(iters + 1):
        sync(); t0 = time.perf_counter()
        with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = task.loss(net, x, y, cfg)
        opt.zero_grad(set_to_none=True); loss.float().backward()
        if task.clip: torch.nn.utils.clip_grad_norm_(net.parameters(), task.clip)
        opt.step(); sync()
        if k: times.append(time.perf_counter() - t0)
    q.put(dict(seconds=sum(times) / len(times), rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               gpu=torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
               params=sum(p.numel() for p in net.parameters()) / 1e6))


def run(*args):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(*args, q))
    p.start(); r = q.get(); p.join()
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--gpu", action="store_true")
    a = ap.parse_args()
    import torch
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; CPU, batch 2, random weights")
    for model, arch, crop in (("deeplab", "resnet101", 321), ("deeplab", "resnet18", 129),
                              ("mask2former", "swin-tiny", 512), ("mask2former", "tiny", 128)):
        r = run(model, arch, 2, crop, a.iters, "cpu")
        print(f"{model:11s} {arch:9s} crop {crop}: {r['seconds']:.2f} s/iteration ({2 / r['seconds']:.2f} images/s), "
              f"peak RSS {r['rss']:.0f} MiB, {r['params']:.1f} M parameters")
    if a.gpu:
        if not torch.cuda.is_available(): raise SystemExit("--gpu: torch sees no CUDA device")
        for model, arch, batch, crop in (("deeplab", "resnet101", 10, 321), ("mask2former", "swin-large", 16, 512)):
            r = run(model, arch, batch, crop, a.iters, "cuda")
            print(f"{torch.cuda.get_device_name()} bf16 {model} {arch} batch {batch} crop {crop}: {batch / r['seconds']:.1f} images/s, "
                  f"peak {r['gpu']:.0f} MiB")


if __name__ == "__main__":
    main()
