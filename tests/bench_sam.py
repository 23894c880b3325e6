"""Benchmark: SAM decoder fine-tuning with the embedding cache vs recomputing the image encoder.

For `tiny` and `vit_b` (random weights; no checkpoint is needed to time them) on CPU, over N images of
the bundled sample with simulated boxes + scribbles: one fine-tuning epoch reading cached fp16
embeddings vs one epoch that runs the frozen image encoder for every image (what a loop through
`Sam.forward` would do), the decoder's time per prompt (decode + loss + backward), and peak memory.
Each measurement runs in its own process so its peak RSS is its own.

Filling the cache for a split (`precompute_embeddings`: DataLoader workers decode and resize, the encoder
runs on batches) is timed against one image at a time (`image_embedding` in a loop, decoding in the main
process): `embedding vit_b CPU: batched <x> images/s vs per-image <y> images/s`.

With `--gpu` (on a CUDA machine) it also times `vit_h` in bf16: images/s for encoding (per image, and
batched through the DataLoader), images/s for decoder training from the cache, the projected time for VOC
train_aug (10,582 images; the goal on one H100 is >= 45 images/s), and whether bf16 embeddings give the same
masks as fp32 (mean IoU of the binary box-prompted masks over the images).

Run: `python tests/bench_sam.py [--images N] [--batch B] [--gpu]`.  The last line reads `cache speed-up (vit_b): <ratio>x`.
"""
import argparse
import multiprocessing as mp
import resource
import tempfile
import time
from functools import partial


def _items(n):
    from wsseg_nb.datasets import open_folder, sample_root
    from wsseg_nb.simulate import simulate_weak_labels
    voc = open_folder(sample_root())
    ids = voc.split_ids("train")[:n]
    return [(i, partial(voc.image, i), simulate_weak_labels(i, voc.gt(i), seed=0)) for i in ids]


def _random_official(model_type):
    "load_sam for an official type without its checkpoint: the architecture with random weights."
    from segment_anything import sam_model_registry
    from wsseg_nb.core import fingerprint
    sam = sam_model_registry[model_type]()
    sam.wsseg_fingerprint = f"{model_type}-random-{fingerprint(model_type)}"
    return sam


def _run(model_type, n, cached, device="cpu"):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(model_type, n, cached, device, q))
    p.start()
    r = q.get()
    p.join()
    return r


def _child(model_type, n, cached, device, q):
    import torch
    import wsseg_nb.sam as S
    import wsseg_nb.sam_cache as SC
    import wsseg_nb.sam_finetune as F
    torch.manual_seed(0)
    sam = S.load_sam("tiny", device=device) if model_type == "tiny" else _random_official(model_type).to(device).eval()
    items = _items(n)
    cfg = F.SamTuneConfig(epochs=1, batch=2, size=128, lr=1e-5)
    with tempfile.TemporaryDirectory() as d:
        cache = SC.EmbeddingCache(f"{d}/emb", sam.wsseg_fingerprint) if cached else None
        for i, load, w in items:                       # not timed: superpixels, and the cache fill when cached
            img = load()
            F.tuning_superpixels(img, i, cfg, f"{d}/sp")
            if cached: SC.image_embedding(sam, img, i, cache)
        if cached:                                     # warm-up (allocator, kernels); recomputing needs none
            F.finetune_decoder(sam, items[:1], F.SamTuneConfig(epochs=1, batch=1, size=128, lr=0.0), cache=cache,
                               superpixel_dir=f"{d}/sp", progress=False)
        n_prompts = sum(len(S.make_prompts(w)) for _, _, w in items)
        sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
        sync(); t0 = time.perf_counter()
        F.finetune_decoder(sam, items, cfg, cache=cache, superpixel_dir=f"{d}/sp", progress=False)
        sync(); dt = time.perf_counter() - t0
        t_enc = None
        if device.startswith("cuda"):
            img = items[0][1]()
            sync(); t1 = time.perf_counter()
            for _ in range(5): SC.image_embedding(sam, img, "x", None)
            sync(); t_enc = (time.perf_counter() - t1) / 5
    q.put(dict(seconds=dt, prompts=n_prompts, peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               gpu_peak_mib=torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None,
               encode_seconds=t_enc))


def _embed_child(model_type, n, batch, device, q):
    import torch
    import wsseg_nb.sam as S
    import wsseg_nb.sam_cache as SC
    from wsseg_nb.datasets import open_folder, sample_root
    torch.manual_seed(0)
    sam = S.load_sam("tiny", device=device) if model_type == "tiny" else _random_official(model_type).to(device).eval()
    voc = open_folder(sample_root())
    ids = voc.split_ids(None)[:n]
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    with tempfile.TemporaryDirectory() as d:
        SC.image_embedding(sam, voc.image(ids[0]), "warm-up", None)
        sync(); t0 = time.perf_counter()
        for i in ids: SC.image_embedding(sam, voc.image(i), i, SC.EmbeddingCache(f"{d}/one", sam.wsseg_fingerprint))
        sync(); one = time.perf_counter() - t0
        r = SC.precompute_embeddings(sam, voc, ids, SC.EmbeddingCache(f"{d}/batched", sam.wsseg_fingerprint),
                                    progress=False)
        sync()
        rb = SC.precompute_embeddings(sam, voc, ids, SC.EmbeddingCache(f"{d}/b{batch}", sam.wsseg_fingerprint),
                                     batch=batch, progress=False) if batch else None
        sync()
    q.put(dict(per_image=n / one, batched=r["images_per_second"], forced=rb and rb["images_per_second"]))


def _masks_bf16_vs_fp32(n, q):
    "Mean IoU between box-prompted masks from bf16 and fp32 ViT-H embeddings (random weights unless a checkpoint is cached)."
    import torch
    import wsseg_nb.sam as S
    import wsseg_nb.sam_cache as SC
    from wsseg_nb.datasets import open_folder, sample_root
    from wsseg_nb.simulate import simulate_weak_labels
    sam = _random_official("vit_h").to("cuda").eval()
    voc = open_folder(sample_root())
    ious = []
    for i in voc.split_ids(None)[:n]:
        img, w = voc.image(i), simulate_weak_labels(i, voc.gt(i), seed=0)
        x, hw = SC.padded_input(img, S.sam_transform(sam), sam.image_encoder.img_size)
        xn = (x[None].cuda().float() - sam.pixel_mean) / sam.pixel_std
        xn[..., hw[0]:, :] = 0; xn[..., :, hw[1]:] = 0
        with torch.inference_mode():
            e32 = sam.image_encoder(xn)
            with torch.autocast("cuda", dtype=torch.bfloat16): e16 = sam.image_encoder(xn).float()
            prompts = S.make_prompts(w, use_scribbles=False)
            m32 = S.decode_objects(sam, {"embedding": e32, "input_size": hw, "original_size": img.shape[:2]}, prompts) > 0
            m16 = S.decode_objects(sam, {"embedding": e16, "input_size": hw, "original_size": img.shape[:2]}, prompts) > 0
        inter, union = (m32 & m16).flatten(1).sum(1).float(), (m32 | m16).flatten(1).sum(1).float()
        ious += (inter / union.clamp(min=1)).tolist()
    q.put(sum(ious) / max(len(ious), 1))


def _spawn(target, *args):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start(); r = q.get(); p.join()
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--gpu", action="store_true", help="also time vit_h in bf16 on CUDA")
    ap.add_argument("--batch", type=int, default=2, help="also time this batch size on the CPU (the default there is 1)")
    ap.add_argument("--embed-images", type=int, default=4, help="images for the batched-vs-per-image embedding timing")
    a = ap.parse_args()
    import torch
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {a.images} images (bundled sample, simulated labels)")
    ratios = {}
    for mt in ("tiny", "vit_b"):
        c = _run(mt, a.images, True)
        r = _run(mt, a.images, False)
        ratios[mt] = r["seconds"] / c["seconds"]
        print(f"{mt:6s} CPU: epoch from cache {c['seconds']:.2f} s, recomputing the encoder {r['seconds']:.2f} s; "
              f"decoder {1000 * c['seconds'] / c['prompts']:.1f} ms per prompt ({c['prompts']} prompts, decode+loss+backward); "
              f"peak RSS {c['peak_rss_mib']:.0f} MiB cached / {r['peak_rss_mib']:.0f} MiB recomputing")
    e = _spawn(_embed_child, "vit_b", a.embed_images, a.batch, "cpu")
    print(f"embedding vit_b CPU: batched {e['batched']:.3f} images/s vs per-image {e['per_image']:.3f} images/s "
          f"({a.embed_images} images, the CPU defaults: 1 image per call, no loader workers; forcing batch {a.batch}: "
          f"{e['forced']:.3f} images/s)")
    if a.gpu:
        if not torch.cuda.is_available():
            raise SystemExit("--gpu: torch sees no CUDA device")
        eg = _spawn(_embed_child, "vit_h", max(a.embed_images, 64), 0, "cuda")
        print(f"embedding vit_h {torch.cuda.get_device_name()} bf16: batched {eg['batched']:.1f} images/s vs per-image "
              f"{eg['per_image']:.1f} images/s; VOC train_aug (10,582) in {10582 / eg['batched'] / 60:.1f} min batched "
              f"(goal: >= 45 images/s, <= 4 min)")
        print(f"bf16 vs fp32 embeddings, vit_h box-prompted masks: mean IoU {_spawn(_masks_bf16_vs_fp32, a.images):.4f} (goal >= 0.99)")
        g = _run("vit_h", a.images, True, "cuda")
        n = a.images
        enc_ips, dec_ips = 1 / g["encode_seconds"], n / g["seconds"]
        proj = 10582 / enc_ips + 10582 / dec_ips
        print(f"vit_h {torch.cuda.get_device_name()} bf16: encoding {enc_ips:.2f} images/s, decoder training "
              f"{dec_ips:.2f} images/s from the cache, peak {g['gpu_peak_mib']:.0f} MiB; VOC train_aug (10,582): "
              f"encode once {10582 / enc_ips / 60:.1f} min + {10582 / dec_ips / 60:.1f} min per epoch "
              f"(1 epoch in all: {proj / 3600:.2f} h)")
    for mt in ratios:
        print(f"cache speed-up ({mt}): {ratios[mt]:.1f}x")


if __name__ == "__main__":
    main()
