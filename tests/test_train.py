"""Stage-2 CLIs as a user runs them: wsseg_train, wsseg_predict (and wsseg_evaluate on their output), DDP on gloo."""
import json
import os
import subprocess
import sys

import pytest

from wsseg_nb.datasets import sample_root
from wsseg_nb.images import read_label_png
from wsseg_nb.deeplab import crf_available

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def run(*args, cwd=None):
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, timeout=900, env=ENV)


def test_deeplab_train_predict_evaluate(tmp_path):
    S = str(sample_root())
    base = ["wsseg_train", "deeplab", "--labels", "gt", "--data-root", S, "--split-file", "train", "--out", str(tmp_path / "m"),
            "--arch", "resnet18", "--batch", "2", "--crop", "97", "--workers", "0", "--device", "cpu", "--lr", "0.01"]
    r = run(*base, "--iters", "3")
    assert r.returncode == 0 and "3 iterations on 1 process(es)" in r.stdout, r.stderr[-2000:]
    r = run(*base, "--iters", "3")
    assert r.returncode == 1 and "--resume" in r.stderr and "Traceback" not in r.stderr
    r = run(*base, "--iters", "5", "--resume")
    assert r.returncode == 0 and "5 iterations" in r.stdout, r.stderr[-2000:]
    assert len((tmp_path / "m" / "train_log.jsonl").read_text().splitlines()) == 5
    r = run("wsseg_predict", str(tmp_path / "m"), "--data-root", S, "--split-file", "val", "--out", str(tmp_path / "p"),
            "--scales", "0.75,1", "--flip")
    assert r.returncode == 0 and "1 written" in r.stdout, r.stderr[-2000:]
    assert read_label_png(tmp_path / "p" / "2007_009897.png").shape == (375, 500)
    r = run("wsseg_evaluate", "--pred", str(tmp_path / "p"), "--data-root", S, "--split-file", "val")
    assert r.returncode == 0 and r.stdout.strip().splitlines()[-1].startswith("mIoU: ")
    r = run("wsseg_predict", str(tmp_path / "m"), "--data-root", S, "--split-file", "val", "--out", str(tmp_path / "t"),
            "--format", "voc-test")
    assert r.returncode == 0
    assert (tmp_path / "t" / "results" / "VOC2012" / "Segmentation" / "comp6_test_cls" / "2007_009897.png").is_file()
    r = run("wsseg_predict", str(tmp_path / "m"), "--data-root", S, "--split-file", "val", "--out", str(tmp_path / "c"),
            "--crf", "--workers", "1")
    if crf_available():
        assert r.returncode == 0 and "1 written" in r.stdout, r.stderr[-2000:]
    else:
        assert r.returncode == 1 and 'pip install "wsseg_nb[crf]"' in r.stderr and "Traceback" not in r.stderr


def test_mask2former_train_predict(tmp_path):
    S = str(sample_root())
    r = run("wsseg_train", "mask2former", "--labels", "gt", "--data-root", S, "--split-file", "train", "--out",
            str(tmp_path / "m"), "--arch", "tiny", "--iters", "3", "--batch", "2", "--crop", "64", "--workers", "0",
            "--device", "cpu", "--lr", "0.001")
    assert r.returncode == 0 and "3 iterations" in r.stdout, r.stderr[-2000:]
    assert json.loads((tmp_path / "m" / "config.json").read_text())["model"] == "mask2former"
    r = run("wsseg_predict", str(tmp_path / "m"), "--data-root", S, "--split-file", "val", "--out", str(tmp_path / "p"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert read_label_png(tmp_path / "p" / "2007_009897.png").shape == (375, 500)
    r = run("wsseg_predict", str(tmp_path / "m"), "--data-root", S, "--split-file", "val", "--out", str(tmp_path / "c"), "--crf")
    assert r.returncode == 1 and "DeepLabV2" in r.stderr


@pytest.mark.parametrize("model,arch,crop,extra", [("deeplab", "resnet18", "97", []), ("deeplab", "resnet18", "97", ["--msc"]),
                                                   ("mask2former", "tiny", "64", [])])
def test_ddp_two_processes_on_gloo(tmp_path, model, arch, crop, extra):
    """The same training code under torchrun: 2 CPU processes, gloo backend, a DistributedSampler; DeepLabV2's MSC too."""
    S = str(sample_root())
    r = run(sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "wsseg_nb.train",
            model, "--labels", "gt", "--data-root", S, "--split-file", "train", "--out", str(tmp_path / "m"),
            "--arch", arch, "--iters", "3", "--batch", "1", "--crop", crop, "--workers", "0", "--device", "cpu", *extra)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "3 iterations on 2 process(es)" in r.stdout
    assert r.stdout.count("wsseg_train:") == 1          # rank 0 alone reports and writes
    assert (tmp_path / "m" / "checkpoint.pt").is_file()
    assert json.loads((tmp_path / "m" / "config.json").read_text())["msc"] == ("--msc" in extra)


def test_bad_label_folder(tmp_path):
    r = run("wsseg_train", "deeplab", "--labels", str(tmp_path / "none"), "--data-root", str(sample_root()),
            "--out", str(tmp_path / "m"), "--arch", "resnet18", "--iters", "1", "--device", "cpu")
    assert r.returncode == 1 and "have no label" in r.stderr and "wsseg_pseudolabel" in r.stderr
