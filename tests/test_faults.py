"""Faults a hostile but realistic user meets, one test per numbered item of issue 13.

Each test asserts the exit code, that no traceback is printed, that the message names the file or
option at fault, and that files written before are unchanged. The command-line tools run in this
process (`cli`), except where a real signal or umask is the point (`run`)."""
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch

from wsseg_nb import pipeline, predict, sam, sam_finetune, train
from wsseg_nb.core import read_manifest
from wsseg_nb.datasets import sample_root
from wsseg_nb.images import read_label_png, write_label_png
from wsseg_nb.train import TrainConfig, train_model

TOOLS = {"wsseg_weaklabels": pipeline, "wsseg_pseudolabel": pipeline, "wsseg_evaluate": pipeline,
         "wsseg_train": train, "wsseg_predict": predict, "wsseg_embed": sam}


def cli(tool, *args):
    "Run a console script in this process: (exit code, stdout, stderr); an escaping exception is a 'traceback'."
    out, err, argv = io.StringIO(), io.StringIO(), sys.argv
    sys.argv, rc = [tool, *map(str, args)], 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            getattr(TOOLS[tool], tool)()
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        rc = "traceback"; err.write(traceback.format_exc())
    finally:
        sys.argv = argv
        torch.set_num_threads(2)
    return rc, out.getvalue(), err.getvalue()


def run(*args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kw)


def hashes(folder):
    "sha256 of every file under `folder` (relative path -> hex)."
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def refused(r, *names, rc=1):
    "The run ended with `rc`, one clear error naming each of `names`, and no traceback."
    code, out, err = r
    assert code == rc, (code, out, err)
    assert "Traceback" not in err and "Traceback" not in out, err
    for n in names: assert str(n) in err, (n, err)


@pytest.fixture()
def voc(tmp_path):
    dst = tmp_path / "voc"
    shutil.copytree(sample_root(), dst)
    return dst


@pytest.fixture()
def weak(voc, tmp_path):
    w = tmp_path / "weak"
    assert cli("wsseg_weaklabels", voc, "--out", w)[0] == 0
    return w


def tiny_model(voc, out, seed=0, iters=1, **kw):
    cfg = TrainConfig(model="deeplab", arch="resnet18", iters=iters, batch=1, crop=65, workers=0, seed=seed, **kw)
    train_model("gt", voc, "train", out, cfg, progress=False)
    return out


# 1 -------------------------------------------------------------------------------------------
def test_1_resume_into_a_folder_of_another_model_is_refused(voc, tmp_path):
    a, b = tiny_model(voc, tmp_path / "a"), tiny_model(voc, tmp_path / "b", seed=1)
    p = tmp_path / "pred"
    assert cli("wsseg_predict", a, "--data-root", voc, "--out", p)[0] == 0
    before = hashes(p)
    refused(cli("wsseg_predict", b, "--data-root", voc, "--out", p, "--flip"), "model was", "flip was False, now True", "--force")
    assert hashes(p) == before
    rc, out, _ = cli("wsseg_predict", a, "--data-root", voc, "--out", p)
    assert rc == 0 and "0 written, 1 already there" in out
    assert cli("wsseg_predict", b, "--data-root", voc, "--out", p, "--force")[0] == 0
    assert json.loads((p / "predict_manifest.json").read_text())["params"]["model_dir"] == str(b.resolve())


# 2 -------------------------------------------------------------------------------------------
def test_2_sam_methods_need_a_model_type(voc, weak, tmp_path):
    refused(cli("wsseg_pseudolabel", "--method", "sam-boxes", "--data-root", voc, "--weak-labels", weak,
                "--out", tmp_path / "o"), "--model-type", "tiny", rc=2)
    assert not (tmp_path / "o").exists()
    with pytest.raises(ValueError, match="needs --model-type"):
        pipeline.make_pseudo_labels("sam", voc, weak, tmp_path / "o", progress=False)


# 3 -------------------------------------------------------------------------------------------
def test_3_train_resume_checks_data_and_iterations(voc, tmp_path):
    m = tmp_path / "m"
    base = ["deeplab", "--data-root", voc, "--out", m, "--arch", "resnet18", "--batch", 1, "--crop", 65, "--workers", 0]
    assert cli("wsseg_train", *base, "--labels", "gt", "--iters", 3)[0] == 0
    man = json.loads((m / "manifest.json").read_text())
    assert man["status"] == "finished" and man["name"] == "wsseg_train" and man["iterations"] == 3
    before = hashes(m)
    labels = tmp_path / "labels"; labels.mkdir()
    for p in (voc / "SegmentationClass").glob("*.png"): shutil.copy(p, labels)
    refused(cli("wsseg_train", *base, "--labels", labels, "--iters", 5, "--resume"), "--labels was 'gt'")
    refused(cli("wsseg_train", *base, "--labels", "gt", "--iters", 5, "--resume", "--split-file", "val"), "--split-file")
    refused(cli("wsseg_train", *base, "--labels", "gt", "--iters", 2, "--resume"), "at iteration 3, past --iters 2")
    assert hashes(m) == before


# 4 -------------------------------------------------------------------------------------------
def test_4_weak_labels_of_another_size_are_refused(voc, weak, tmp_path):
    js = weak / "boxes" / "2008_000008.json"
    d = json.loads(js.read_text()); d["width"], d["height"] = 1000, 750; js.write_text(json.dumps(d))
    out = tmp_path / "pl"
    refused(cli("wsseg_pseudolabel", "--method", "boxes", "--no-scribbles", "--data-root", voc, "--weak-labels", weak,
                "--out", out), str(js), "1000x750", "500x442")
    assert not (out / "2008_000008.png").exists()


# 5 -------------------------------------------------------------------------------------------
def test_5_embedding_cache_is_keyed_by_content(tmp_path):
    model = sam.load_sam("tiny")
    cache = sam.EmbeddingCache(tmp_path / "cache", model.wsseg_fingerprint)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 255, (40, 60, 3), np.uint8), rng.integers(0, 255, (50, 30, 3), np.uint8)
    ea = sam.image_embedding(model, a, "same_id", cache)
    eb = sam.image_embedding(model, b, "same_id", cache)     # another image under the same id
    assert cache.stats["computed"] == 2 and tuple(eb["original_size"]) == (50, 30)
    assert not torch.equal(ea["embedding"], eb["embedding"])


# 6 -------------------------------------------------------------------------------------------
def test_6_nothing_to_do_is_an_error(voc, tmp_path):
    shutil.rmtree(voc / "SegmentationClass")
    refused(cli("wsseg_weaklabels", voc, "--out", tmp_path / "w"), "SegmentationClass", "--split-file")
    (tmp_path / "empty" / "boxes").mkdir(parents=True)
    refused(cli("wsseg_pseudolabel", "--method", "boxes", "--data-root", voc, "--weak-labels", tmp_path / "empty",
                "--out", tmp_path / "pl"), "holds no <id>.json")


# 7 -------------------------------------------------------------------------------------------
def test_7_non_utf8_weak_labels_and_scribbles(voc, weak, tmp_path):
    js = weak / "boxes" / "2008_000008.json"
    js.write_bytes(js.read_bytes().replace(b'"image"', b'"\xff\xfeimage"'))
    refused(cli("wsseg_pseudolabel", "--method", "boxes", "--data-root", voc, "--weak-labels", weak, "--out", tmp_path / "pl"),
            str(js), "UTF-8", "2008_000008")
    scr = voc / "scribbles_txt" / "2008_000008_scribble.txt"
    scr.write_bytes(b"\xff\xfe" + scr.read_bytes())
    refused(cli("wsseg_weaklabels", voc, "--out", tmp_path / "w2", "--scribbles", "scribblesup"), str(scr), "UTF-8")


# 8 -------------------------------------------------------------------------------------------
def test_8a_bad_class_id_with_a_name_is_an_error_or_skipped(voc, weak, tmp_path):
    js = weak / "boxes" / "2008_000008.json"
    d = json.loads(js.read_text()); d["objects"][0]["class_id"] = 99; js.write_text(json.dumps(d))
    base = ["--method", "boxes", "--data-root", voc, "--weak-labels", weak]
    refused(cli("wsseg_pseudolabel", *base, "--out", tmp_path / "a"), str(js), "class id 99")
    rc, out, err = cli("wsseg_pseudolabel", *base, "--out", tmp_path / "b", "--skip-bad")
    assert rc == 0 and "1 skipped" in out and "class id 99" in err and "Traceback" not in err


def test_8b_bad_label_value_in_training_also_from_loader_workers(voc, tmp_path):
    labels = tmp_path / "labels"; labels.mkdir()
    for p in (voc / "SegmentationClass").glob("*.png"):
        lab = read_label_png(p); lab[lab == 15] = 40; write_label_png(labels / p.name, lab)
    for workers in (0, 1):
        r = cli("wsseg_train", "deeplab", "--labels", labels, "--data-root", voc, "--out", tmp_path / f"m{workers}",
                "--arch", "resnet18", "--iters", 4, "--batch", 2, "--crop", 65, "--workers", workers)
        refused(r, "has class ids [40]", str(labels))
        said = [l for l in r[2].splitlines() if l.strip() and "it/s]" not in l]   # all but progress bars
        assert "Original Traceback" not in r[2] and len(said) == 1, r[2]


def test_8c_truncated_checkpoint_and_bad_devices(voc, tmp_path):
    m = tiny_model(voc, tmp_path / "m")
    data = (m / "checkpoint.pt").read_bytes(); (m / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    refused(cli("wsseg_predict", m, "--data-root", voc, "--out", tmp_path / "p"), str(m / "checkpoint.pt"), "truncated")
    for dev, says in (("gpu", "expected cpu, cuda, cuda:N"), ("cuda", "no CUDA device")):
        if dev == "cuda" and torch.cuda.is_available(): continue
        refused(cli("wsseg_train", "deeplab", "--labels", "gt", "--data-root", voc, "--out", tmp_path / "d",
                    "--device", dev), says)


def test_8d_decoder_of_another_architecture(voc, weak, tmp_path):
    model = sam.load_sam("tiny")
    other = torch.nn.Linear(3, 3).state_dict()   # same fingerprint, other architecture
    torch.save({"decoder": other, "model": model.wsseg_fingerprint}, tmp_path / "decoder.pt")
    refused(cli("wsseg_pseudolabel", "--method", "sam", "--model-type", "tiny", "--decoder", tmp_path / "decoder.pt",
                "--data-root", voc, "--weak-labels", weak, "--out", tmp_path / "o", "--skip-bad"),
            str(tmp_path / "decoder.pt"), "does not fit")
    # and the tiny fingerprint names the architecture, not only the seed
    assert model.wsseg_fingerprint != sam.fingerprint("tiny", 0)


def test_8e_evaluate_prints_the_table_before_an_unwritable_json(voc, weak, tmp_path):
    assert cli("wsseg_pseudolabel", "--method", "boxes", "--data-root", voc, "--weak-labels", weak, "--out", tmp_path / "pl")[0] == 0
    ro = tmp_path / "ro"; ro.mkdir(); ro.chmod(0o500)
    try:
        rc, out, err = cli("wsseg_evaluate", "--pred", tmp_path / "pl", "--data-root", voc, "--json", ro / "sub" / "r.json")
    finally: ro.chmod(0o700)
    if os.geteuid() == 0:   # root writes anywhere: make the path impossible instead
        (tmp_path / "file").write_text("x")
        rc, out, err = cli("wsseg_evaluate", "--pred", tmp_path / "pl", "--data-root", voc, "--json", tmp_path / "file" / "r.json")
    assert rc == 1 and "mIoU:" in out and "r.json" in err and "Traceback" not in err


def test_8f_ctrl_c_keeps_what_was_written(voc, tmp_path):
    m = tmp_path / "m"
    p = subprocess.Popen(["wsseg_train", "deeplab", "--labels", "gt", "--data-root", voc, "--out", m, "--arch", "resnet18",
                          "--iters", "100000", "--batch", "1", "--crop", "65", "--workers", "0", "--save-every", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if (m / "checkpoint.pt").is_file(): break
        time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    man = json.loads((m / "manifest.json").read_text())
    assert man["status"] == "interrupted" and man["written"] >= 1
    it = torch.load(m / "checkpoint.pt", weights_only=False)["iteration"]
    assert it >= 1 and len((m / "train_log.jsonl").read_text().splitlines()) == it


# 9 -------------------------------------------------------------------------------------------
def test_9_kill_before_the_first_iteration_checkpoint_loses_little(voc, tmp_path):
    m = tmp_path / "m"
    rc, _, err = cli("wsseg_train", "deeplab", "--labels", "gt", "--data-root", voc, "--out", m, "--arch", "resnet18",
                     "--iters", 2, "--batch", 1, "--crop", 65, "--workers", 0, "--resume")
    assert rc == 0 and "found no checkpoint" in err
    dead = subprocess.Popen([sys.executable, "-c", "pass"]); dead.wait()
    stale = m / f".checkpoint.pt.{dead.pid}.x.tmp"; stale.write_bytes(b"half")
    p = subprocess.Popen(["wsseg_train", "deeplab", "--labels", "gt", "--data-root", voc, "--out", tmp_path / "k",
                          "--arch", "resnet18", "--iters", "100000", "--batch", "1", "--crop", "65", "--workers", "0",
                          "--save-minutes", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        if (tmp_path / "k" / "checkpoint.pt").is_file(): break
        time.sleep(0.1)
    p.kill(); p.wait()
    assert read_manifest(tmp_path / "k" / "manifest.json")["status"] == "killed"
    it = torch.load(tmp_path / "k" / "checkpoint.pt", weights_only=False)["iteration"]
    assert it >= 1      # saved by time, long before --save-every's 1000 iterations
    rc, _, _ = cli("wsseg_train", "deeplab", "--labels", "gt", "--data-root", voc, "--out", m, "--arch", "resnet18",
                   "--iters", 3, "--batch", 1, "--crop", 65, "--workers", 0, "--resume")
    assert rc == 0 and not stale.exists()


# 10 ------------------------------------------------------------------------------------------
def test_10_manifests_tell_the_truth(voc, weak, tmp_path, monkeypatch):
    (voc / "JPEGImages" / "2011_000025.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "pl"
    refused(cli("wsseg_pseudolabel", "--method", "boxes", "--data-root", voc, "--weak-labels", weak, "--out", out), "2011_000025")
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "failed" and man["written"] == len(list(out.glob("*.png"))) == 7
    # a failing --force run that wrote nothing leaves the folder's record as it was
    w = tmp_path / "w"
    assert cli("wsseg_weaklabels", voc, "--out", w, "--split-file", "val")[0] == 0
    before = hashes(w)
    refused(cli("wsseg_weaklabels", voc, "--out", w, "--split-file", "val", "--boxes", "xml", "--force"), "Annotations")
    assert hashes(w) == before
    rc, out_text, _ = cli("wsseg_weaklabels", voc, "--out", w, "--split-file", "val")
    assert rc == 0 and "0 written, 1 already there" in out_text
    # a full disk: the user sees the write error, not a manifest error
    def full(*a, **k): raise OSError(28, "No space left on device")
    monkeypatch.setattr(pipeline, "write_label_png", full)
    from wsseg_nb import core
    real, calls = core.write_json_atomic, []
    def manifest_write(*a, **k):   # the first manifest write lands, later ones meet the full disk
        calls.append(1)
        if len(calls) > 1: raise OSError(28, "disk full (manifest)")
        return real(*a, **k)
    monkeypatch.setattr(core, "write_json_atomic", manifest_write)
    with pytest.raises(Exception, match="No space left on device"):
        pipeline.make_pseudo_labels("boxes", voc, weak, tmp_path / "full", "val", progress=False)


# 11 ------------------------------------------------------------------------------------------
def test_11_a_bad_sam_checkpoint_is_fatal_once(voc, weak, tmp_path):
    bad = tmp_path / "sam_vit_b_01ec64.pth"; bad.write_bytes(b"not a checkpoint")
    rc, out, err = cli("wsseg_pseudolabel", "--method", "sam-boxes", "--model-type", "vit_b", "--checkpoint", bad,
                       "--data-root", voc, "--weak-labels", weak, "--out", tmp_path / "o", "--skip-bad")
    refused((rc, out, err), str(bad))
    assert err.count(str(bad)) == 1 and "image " not in err


# 12 ------------------------------------------------------------------------------------------
def test_12_outputs_respect_the_umask(voc, tmp_path):
    r = run("wsseg_weaklabels", voc, "--out", tmp_path / "w", "--split-file", "val", preexec_fn=lambda: os.umask(0o022))
    assert r.returncode == 0, r.stderr
    for p in (tmp_path / "w" / "manifest.json", tmp_path / "w" / "boxes" / "2007_009897.json"):
        assert p.stat().st_mode & 0o777 == 0o644, (p, oct(p.stat().st_mode))


# 13 ------------------------------------------------------------------------------------------
def test_13_evaluate_counts_255_as_no_prediction(voc, tmp_path):
    pred = tmp_path / "pred"
    gt = read_label_png(voc / "SegmentationClass" / "2007_009897.png")
    p = np.where(gt == 255, 0, gt).astype(np.uint8); p[:100] = 255
    write_label_png(pred / "2007_009897.png", p)
    rc, out, err = cli("wsseg_evaluate", "--pred", pred, "--data-root", voc, "--json", tmp_path / "r.json")
    assert rc == 0, err
    res = json.loads((tmp_path / "r.json").read_text())
    valid = (gt != 255).sum()
    assert abs(res["coverage"] - 100 * ((gt != 255) & (p != 255)).sum() / valid) < 1e-3 and "coverage:" in out
    assert res["miou"] < 100


# 14 ------------------------------------------------------------------------------------------
def test_14_skip_bad_in_train_and_predict(voc, tmp_path):
    m = tiny_model(voc, tmp_path / "m")
    (voc / "JPEGImages" / "2007_009897.jpg").write_bytes(b"")
    refused(cli("wsseg_predict", m, "--data-root", voc, "--out", tmp_path / "p"), "2007_009897", "--skip-bad")
    rc, out, err = cli("wsseg_predict", m, "--data-root", voc, "--out", tmp_path / "p2", "--skip-bad")
    assert rc == 0 and "0 written" in out and "2007_009897" in err
    (voc / "JPEGImages" / "2011_000025.jpg").write_bytes(b"")
    rc, out, err = cli("wsseg_train", "deeplab", "--labels", "gt", "--data-root", voc, "--out", tmp_path / "t", "--arch",
                       "resnet18", "--iters", 1, "--batch", 1, "--crop", 65, "--workers", 0, "--skip-bad")
    assert rc == 0 and "skipped 1 image(s)" in err and "2011_000025" in err, err
    assert json.loads((tmp_path / "t" / "manifest.json").read_text())["skipped"][0][0] == "2011_000025"


# 15 ------------------------------------------------------------------------------------------
def test_15_messages_name_the_file(voc, weak, tmp_path):
    assert cli("wsseg_pseudolabel", "--method", "boxes", "--data-root", voc, "--weak-labels", weak, "--out", tmp_path / "pl")[0] == 0
    ev = ["wsseg_evaluate", "--pred", tmp_path / "pl", "--data-root", voc]
    gtp = voc / "SegmentationClass" / "2011_000003.png"
    good = gtp.read_bytes(); gtp.write_bytes(good[: len(good) // 2])
    refused(cli(*ev), str(gtp), "truncated")
    gtp.write_bytes(good)
    pr = tmp_path / "pl" / "2011_000003.png"
    lab = read_label_png(pr); lab[0, 0] = 40; write_label_png(pr, lab)
    refused(cli(*ev), str(pr), "the prediction has class ids [40]")
    (tmp_path / "split.txt").write_bytes(b"\xff\xfe2011_000003\n")
    refused(cli(*ev, "--split-file", tmp_path / "split.txt"), str(tmp_path / "split.txt"), "UTF-8")
    refused(cli(*ev, "--split-file", "nosuch.txt"), "nosuch.txt", "no such file", "split names there")
    m = tiny_model(voc, tmp_path / "m")
    refused(cli("wsseg_predict", m, "--data-root", voc, "--out", tmp_path / "p", "--scales", "1,,x"), "--scales '1,,x'")
    (voc / "JPEGImages" / "2007_009897.jpg").write_text("hello, I am text")
    refused(cli("wsseg_predict", m, "--data-root", voc, "--out", tmp_path / "p"), "2007_009897.jpg", "not an image file")
    # decoders: truncated, and a stage-2 checkpoint in its place (a short message, not the state dict)
    sb = ["wsseg_pseudolabel", "--method", "sam", "--model-type", "tiny", "--data-root", voc, "--weak-labels", weak]
    for dec, says in ((tmp_path / "trunc.pt", "truncated"), (m / "checkpoint.pt", "not a decoder.pt")):
        if dec.name == "trunc.pt": dec.write_bytes(b"PK\x03\x04 half a zip")
        rc, out, err = cli(*sb, "--decoder", dec, "--out", tmp_path / f"o_{dec.stem}")
        refused((rc, out, err), str(dec), says)
        assert len(err) < 600, len(err)


# 16 ------------------------------------------------------------------------------------------
def test_16_help_shows_true_defaults():
    train_help = " ".join(train.wsseg_train.parser().format_help().split())
    for wrong in ("(default: 0.0)", "(default: 0)", "(default: )", "(default: False)", "mask2former) (default:"):
        assert wrong not in train_help, wrong
    assert "(default: 20000)" in train_help and "(default: 2.5e-4 deeplab, 1e-4 mask2former)" in train_help
    pl_help = " ".join(pipeline.wsseg_pseudolabel.parser().format_help().split())
    assert "{tiny,vit_h,vit_l,vit_b}" in pl_help
    assert f"(default: {sam_finetune.SamTuneConfig().epochs})" in pl_help and f"(default: {sam_finetune.SamTuneConfig().lr})" in pl_help


def test_8f_ctrl_c_in_a_pool_of_workers(voc, weak, tmp_path):
    "Workers leave Ctrl-C to the parent: one line, no worker traceback, and the manifest counts what they wrote."
    out = tmp_path / "pl"
    p = subprocess.Popen(["wsseg_pseudolabel", "--method", "grabcut", "--workers", "2", "--data-root", str(voc),
                          "--weak-labels", str(weak), "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if len(list(out.glob("*.png"))) >= 1: break
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "Traceback" not in err and "KeyboardInterrupt" not in err, err
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "interrupted" and man["written"] == len(list(out.glob("*.png"))) >= 1
