"""Stage-1 throughput paths (issue 11): the embedding cache filled by `wsseg_embed`, sharded under torchrun,
and pseudo-labelling sharded the same way; both give what one process gives."""
import os
import subprocess
from pathlib import Path

import numpy as np

from wsseg_nb.datasets import sample_root
from wsseg_nb.images import read_label_png

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _torchrun(args, cwd):
    return subprocess.run(["torchrun", "--nproc_per_node", "2", "-m", *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=600)


def test_sharded_embeddings_fill_the_same_cache(tmp_path):
    r = _torchrun(["wsseg_nb.sam_cache", str(sample_root()), "--model-type", "tiny", "--split-file", "train",
                   "--cache", "sharded", "--workers", "0", "--batch", "2"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "rank 0/2" in r.stdout and "rank 1/2" in r.stdout
    one = subprocess.run(["wsseg_embed", str(sample_root()), "--model-type", "tiny", "--split-file", "train", "--cache",
                          "single", "--workers", "0"], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr
    import torch
    a, b = sorted((tmp_path/"sharded").rglob("*.pt")), sorted((tmp_path/"single").rglob("*.pt"))
    assert [p.name for p in a] == [p.name for p in b] and len(a) == 9
    for pa, pb in zip(a, b):
        ea, eb = torch.load(pa, weights_only=True), torch.load(pb, weights_only=True)
        assert ea["content"] == eb["content"] and torch.allclose(ea["embedding"].float(), eb["embedding"].float(), atol=2e-2)


def test_embed_needs_a_model_type(tmp_path):
    r = subprocess.run(["wsseg_embed", str(sample_root()), "--cache", "c"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 2 and "--model-type" in r.stderr


def test_sharded_pseudo_labels_equal_one_process(tmp_path):
    assert subprocess.run(["wsseg_weaklabels", str(sample_root()), "--out", "weak"], cwd=tmp_path, capture_output=True).returncode == 0
    r = _torchrun(["wsseg_nb.pipeline", "--method", "boxes", "--data-root", str(sample_root()), "--weak-labels", "weak",
                   "--out", "sharded"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    one = subprocess.run(["wsseg_pseudolabel", "--method", "boxes", "--data-root", str(sample_root()), "--weak-labels", "weak",
                          "--out", "single"], cwd=tmp_path, capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    pngs = sorted(p.name for p in (tmp_path/"single").glob("*.png"))
    assert sorted(p.name for p in (tmp_path/"sharded").glob("*.png")) == pngs and len(pngs) == 10
    for n in pngs: assert np.array_equal(read_label_png(tmp_path/"sharded"/n), read_label_png(tmp_path/"single"/n))
    assert {p.name for p in (tmp_path/"sharded").glob("manifest*.json")} == {"manifest.rank0-of-2.json", "manifest.rank1-of-2.json"}
