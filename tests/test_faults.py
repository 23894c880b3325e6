"""Faults a hostile but realistic user meets, one test per numbered item of issue 13 (test_N_...) and of issue 22 (test_r2_N_...).

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
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from wsseg_nb import pipeline, predict, sam, sam_cache, sam_finetune, train
from wsseg_nb.runs import read_manifest
from wsseg_nb.datasets import sample_root
from wsseg_nb.images import read_label_png, write_label_png
from wsseg_nb.train import TrainConfig, train_model

TOOLS = {"wsseg_weaklabels": pipeline, "wsseg_pseudolabel": pipeline, "wsseg_evaluate": pipeline,
         "wsseg_train": train, "wsseg_predict": predict, "wsseg_embed": sam}


_formatwarning = warnings.formatwarning


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
        signal.signal(signal.SIGTERM, signal.SIG_DFL); warnings.formatwarning = _formatwarning   # call_cli set them for the tool
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
    cache = sam_cache.EmbeddingCache(tmp_path / "cache", model.wsseg_fingerprint)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 255, (40, 60, 3), np.uint8), rng.integers(0, 255, (50, 30, 3), np.uint8)
    ea = sam_cache.image_embedding(model, a, "same_id", cache)
    eb = sam_cache.image_embedding(model, b, "same_id", cache)     # another image under the same id
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
    from wsseg_nb import runs
    real, calls = runs.write_json_atomic, []
    def manifest_write(*a, **k):   # the first manifest write lands, later ones meet the full disk
        calls.append(1)
        if len(calls) > 1: raise OSError(28, "disk full (manifest)")
        return real(*a, **k)
    monkeypatch.setattr(runs, "write_json_atomic", manifest_write)   # the manifest's writer
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


def _pool_started(method, voc, weak, out, wait_s):
    "A `wsseg_pseudolabel --workers 2` process, once it has written its first label (or after `wait_s` seconds)."
    p = subprocess.Popen(["wsseg_pseudolabel", "--method", method, "--workers", "2", "--data-root", str(voc),
                          "--weak-labels", str(weak), "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(int(wait_s / 0.05)):
        if len(list(out.glob("*.png"))) >= 1: break
        time.sleep(0.05)
    return p


def test_8f_ctrl_c_in_a_pool_of_workers(voc, weak, tmp_path):
    "Workers leave Ctrl-C to the parent: one line, no worker traceback, and the manifest counts what they wrote."
    out = tmp_path / "pl"
    p = _pool_started("grabcut", voc, weak, out, 30)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "Traceback" not in err and "KeyboardInterrupt" not in err, err
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "interrupted" and man["written"] == len(list(out.glob("*.png"))) >= 1


# ============================== issue 22: the second round ====================================

def _children(pid: int) -> list[int]:
    "The process ids of `pid`'s children (from /proc)."
    try: return [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    except OSError: return []


def _cmdline(pid: int) -> str:
    "The command line of `pid` ('' once it has exited: a short-lived child may go between listing and reading)."
    try: return Path(f"/proc/{pid}/cmdline").read_text(errors="ignore")
    except OSError: return ""


def _alive(pid: int) -> bool:
    try: os.kill(pid, 0); return Path(f"/proc/{pid}").is_dir() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError: return False


class _Payload:
    "Unpickled, it runs `touch MARKER`: what a malicious checkpoint.pt does."
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (os.system, (f"touch {self.marker}",))


# 1 -------------------------------------------------------------------------------------------
def test_r2_01_model_files_are_data_never_code(voc, weak, tmp_path):
    marker = tmp_path / "PWNED"
    m = tiny_model(voc, tmp_path / "m")
    st = torch.load(m / "checkpoint.pt", weights_only=True)
    torch.save({**st, "config": _Payload(marker)}, m / "checkpoint.pt")
    for r in (cli("wsseg_predict", m, "--data-root", voc, "--out", tmp_path / "p"),
              cli("wsseg_train", "deeplab", "--labels", "gt", "--data-root", voc, "--out", m, "--arch", "resnet18", "--iters", 2,
                  "--batch", 1, "--crop", 65, "--workers", 0, "--resume")):
        refused(r, "checkpoint.pt", "loading those could run code: refused")
    torch.save({"decoder": _Payload(marker), "model": "x"}, tmp_path / "decoder.pt")
    refused(cli("wsseg_pseudolabel", "--method", "sam", "--model-type", "tiny", "--decoder", tmp_path / "decoder.pt",
                "--data-root", voc, "--weak-labels", weak, "--out", tmp_path / "s"), "decoder.pt", "could run code")
    assert not marker.exists()


# 2 -------------------------------------------------------------------------------------------
def test_r2_02_no_job_writes_into_its_inputs(voc, weak, tmp_path):
    gt, before = voc / "SegmentationClass", hashes(voc / "SegmentationClass")
    for force in ((), ("--force",)):
        refused(cli("wsseg_pseudolabel", "--method", "boxes", "--data-root", voc, "--weak-labels", weak, "--out", gt, *force),
                "SegmentationClass", "never writes into its own inputs")
    m = tiny_model(voc, tmp_path / "m")
    refused(cli("wsseg_predict", m, "--data-root", voc, "--out", gt, "--force"), "never writes into its own inputs")
    w_before = hashes(weak)
    refused(cli("wsseg_pseudolabel", "--method", "boxes", "--data-root", voc, "--weak-labels", weak, "--out", weak),
            str(weak), "its own inputs")
    refused(cli("wsseg_predict", m, "--data-root", voc, "--out", m / "pred"), "its own inputs")
    assert hashes(gt) == before and hashes(weak) == w_before


# 3 -------------------------------------------------------------------------------------------
def test_r2_03_force_leaves_exactly_this_runs_output(voc, tmp_path):
    w = tmp_path / "w"
    assert cli("wsseg_weaklabels", voc, "--out", w)[0] == 0 and any((w / "scribbles").glob("*.png"))
    assert cli("wsseg_weaklabels", voc, "--out", w, "--scribbles", "none", "--split-file", "val", "--force")[0] == 0
    assert not (w / "scribbles").exists() and [p.stem for p in (w / "boxes").glob("*.json")] == ["2007_009897"]


# 4 -------------------------------------------------------------------------------------------
def test_r2_04_resume_checks_each_files_provenance(voc, weak, tmp_path):
    out = tmp_path / "pl"
    assert cli("wsseg_pseudolabel", "--method", "boxes", "--data-root", voc, "--weak-labels", weak, "--out", out)[0] == 0
    (out / "manifest.json").unlink()                       # as the corrupt-manifest message advises
    before = hashes(out)
    refused(cli("wsseg_pseudolabel", "--method", "grabcut", "--data-root", voc, "--weak-labels", weak, "--out", out),
            "written by another run", "--force")
    assert hashes(out) == before


# 5 -------------------------------------------------------------------------------------------
def test_r2_05_ambiguous_coco_files_are_refused(voc, tmp_path):
    sizes = {i: __import__("PIL.Image", fromlist=["Image"]).open(voc / "JPEGImages" / f"{i}.jpg").size for i in ("2007_009897", "2008_000008")}
    base = {"images": [{"id": k, "file_name": f"{i}.jpg", "width": w, "height": h} for k, (i, (w, h)) in enumerate(sizes.items(), 1)],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50]}],
            "categories": [{"id": 1, "name": "dog"}, {"id": 2, "name": "cat"}]}
    cases = {"category id 1 is used twice": lambda d: d["categories"].append({"id": 1, "name": "cat"}),
             "have the same id '2007_009897'": lambda d: d["images"].append({"id": 9, "file_name": "other/2007_009897.jpg", "width": 5, "height": 5}),
             "image id 1 is used twice": lambda d: d["images"].append({"id": 1, "file_name": "x.jpg", "width": 5, "height": 5})}
    for msg, change in cases.items():
        d = json.loads(json.dumps(base)); change(d); (tmp_path / "c.json").write_text(json.dumps(d))
        refused(cli("wsseg_weaklabels", voc, "--boxes", "coco", "--coco", tmp_path / "c.json", "--scribbles", "none",
                    "--split-file", "val", "--out", tmp_path / "w"), "c.json", msg)


# 6 -------------------------------------------------------------------------------------------
def test_r2_06_reproduce_keys_its_skip_on_outputs_and_inputs(tmp_path):
    from wsseg_nb.reproduce import inputs_fingerprint, reproduce
    kw = dict(only=["f0_logic"], out_dir=tmp_path / "r", fig_dir=tmp_path / "f", progress=False)
    assert reproduce(**kw) == {"f0_logic": "ran"} and reproduce(**kw) == {"f0_logic": "skipped"}
    met = tmp_path / "r" / "smoke" / "f0_logic" / "metrics.json"
    met.write_text(met.read_text().replace("{", '{"edited": 1, ', 1))
    assert reproduce(**kw) == {"f0_logic": "ran"} and "edited" not in met.read_text()
    (tmp_path / "f" / "smoke" / "f0_logic.png").unlink()
    assert reproduce(**kw) == {"f0_logic": "ran"} and (tmp_path / "f" / "smoke" / "f0_logic.png").is_file()
    stale = tmp_path / "r" / "smoke" / "f0_logic" / "stale_inner"; stale.mkdir()
    assert reproduce(**kw, force=True) == {"f0_logic": "ran"} and not stale.exists()   # --force redoes the inner folders too
    d = tmp_path / "data"; d.mkdir(); (d / "a.txt").write_text("1")
    key = inputs_fingerprint({"data_root": str(d)}); (d / "a.txt").write_text("2")
    assert inputs_fingerprint({"data_root": str(d)}) != key                      # data that changed is another input


# 7 -------------------------------------------------------------------------------------------
def test_r2_07_non_finite_pixels_are_named_not_blackened(tmp_path):
    from PIL import Image
    d = tmp_path / "ct"; (d / "images").mkdir(parents=True)
    a = np.tile(np.linspace(-100, 300, 64, dtype=np.float32), (48, 1)); a[3, 3] = np.nan; a[4, 4] = np.inf
    Image.fromarray(a).save(d / "images" / "s1.tif")
    (d / "dataset.json").write_text(json.dumps({"name": "ct", "classes": ["background", "organ"], "things": [], "background": "background",
                                                "layout": "folders"}))
    from wsseg_nb.images import read_image
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always"); x = read_image(d / "images" / "s1.tif", "minmax")
    assert x[0, 0, 0] == 0 and x[0, -1, 0] == 255 and x[3, 3, 0] == 0 and "2 of 3072 values are not finite" in str(caught[0].message)
    scr = np.full((48, 64), 255, np.uint8); scr[10, 5:20] = 0; scr[30, 40:60] = 1
    (d / "scribbles").mkdir(); Image.fromarray(scr).save(d / "scribbles" / "s1.png")
    assert cli("wsseg_weaklabels", d, "--dataset", d / "dataset.json", "--boxes", "none", "--scribbles", "png",
               "--scribble-dir", d / "scribbles", "--out", tmp_path / "w")[0] == 0
    r = run("wsseg_pseudolabel", "--dataset", d / "dataset.json", "--method", "random-walker", "--data-root", d,   # a process: pytest
            "--weak-labels", tmp_path / "w", "--out", tmp_path / "p", "--intensity", "minmax")    # records warnings in this one
    rc, err = r.returncode, r.stderr
    assert rc == 0 and "wsseg_pseudolabel: warning:" in err and "s1.tif: 2 of 3072 values are not finite" in err, err


# 8 -------------------------------------------------------------------------------------------
def test_r2_08_duplicate_class_names_are_refused(voc, tmp_path):
    (tmp_path / "d.json").write_text(json.dumps({"name": "x", "classes": ["background", "cat", "cat"], "things": ["cat"],
                                                 "background": "background"}))
    refused(cli("wsseg_evaluate", "--pred", tmp_path, "--data-root", voc, "--dataset", tmp_path / "d.json"),
            "d.json", "class names ['cat'] appear more than once")


# 9 -------------------------------------------------------------------------------------------
def test_r2_09_evaluate_reads_colours_and_refuses_repeated_ids(voc, tmp_path):
    from PIL import Image
    from wsseg_nb.images import VOC_PALETTE
    pred = tmp_path / "pred"; pred.mkdir()
    gt = read_label_png(voc / "SegmentationClass" / "2007_009897.png")
    used = np.unique(gt)                                          # an editor's copy: the same colours under other indices
    q = np.zeros_like(gt); pal = np.zeros((256, 3), np.uint8)
    for k, v in enumerate(used): q[gt == v] = k; pal[k] = VOC_PALETTE[v]
    im = Image.fromarray(q, mode="P"); im.putpalette(pal.ravel().tolist()); im.save(pred / "2007_009897.png")
    rc, out, err = cli("wsseg_evaluate", "--pred", pred, "--data-root", voc)
    assert rc == 0 and out.strip().splitlines()[-1] == "mIoU: 100.0", out + err
    pal[1] = [1, 2, 3]; im.putpalette(pal.ravel().tolist()); im.save(pred / "2007_009897.png")
    refused(cli("wsseg_evaluate", "--pred", pred, "--data-root", voc), "2007_009897.png", "the colour of no class")
    (tmp_path / "twice.txt").write_text("2007_009897\n2007_009897\n")
    refused(cli("wsseg_evaluate", "--pred", pred, "--data-root", voc, "--split-file", tmp_path / "twice.txt"), "twice.txt", "twice")


# 10 ------------------------------------------------------------------------------------------
def test_r2_10_weak_labels_are_not_written_into_the_data_root(voc):
    before = hashes(voc)
    refused(cli("wsseg_weaklabels", voc, "--out", voc / "scribbles_txt"), "its own inputs")
    refused(cli("wsseg_weaklabels", voc, "--out", voc), "its own inputs")
    assert hashes(voc) == before


# 11 ------------------------------------------------------------------------------------------
def test_r2_11_training_refuses_bad_options_and_stops_on_a_non_finite_loss(voc, tmp_path):
    base = ["deeplab", "--labels", "gt", "--data-root", voc, "--arch", "resnet18", "--batch", 1, "--crop", 65, "--workers", 0]
    refused(cli("wsseg_train", *base, "--out", tmp_path / "a", "--accum", 0, "--iters", 2), "--accum 0")
    refused(cli("wsseg_train", *base, "--out", tmp_path / "b", "--lr", "nan", "--iters", 2), "--lr nan")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    rc, _, err = cli("wsseg_train", *base, "--out", tmp_path / "c", "--lr", "1e30", "--iters", 6)
    assert rc == 1 and "training diverged" in err and "at iteration" in err, err


# 12 ------------------------------------------------------------------------------------------
def test_r2_12_two_runs_into_one_folder_take_a_lock(voc, weak, tmp_path):
    out = tmp_path / "pl"
    args = ["wsseg_pseudolabel", "--method", "logic", "--workers", "0", "--data-root", str(voc), "--weak-labels", str(weak), "--out", str(out)]
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if (out / ".manifest.json.lock").is_file(): break
        time.sleep(0.05)
    second = run(*args)
    first.wait(timeout=300)
    assert first.returncode == 0, first.stderr.read()
    assert second.returncode == 1 and "being written right now" in second.stderr and "Traceback" not in second.stderr, second.stderr


# 13 ------------------------------------------------------------------------------------------
def test_r2_13_sigterm_stops_a_pool_and_its_workers(voc, weak, tmp_path):
    out = tmp_path / "pl"
    p = _pool_started("logic", voc, weak, out, 60)
    workers = _children(p.pid)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    time.sleep(1)
    assert p.returncode == 143 and "terminated" in err and "Traceback" not in err, err
    assert not [w for w in workers if _alive(w)], "workers outlived the job"
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "terminated" and man["written"] == len(list(out.glob("*.png")))


# 14 ------------------------------------------------------------------------------------------
def test_r2_14_a_running_manifest_from_another_host(voc, weak, tmp_path):
    out = tmp_path / "pl"; out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"name": "wsseg_pseudolabel", "status": "running", "pid": 4242, "host": "node-17",
                                                   "params": {}}))
    refused(cli("wsseg_pseudolabel", "--method", "boxes", "--data-root", voc, "--weak-labels", weak, "--out", out),
            "on host node-17", "--force")
    assert cli("wsseg_pseudolabel", "--method", "boxes", "--data-root", voc, "--weak-labels", weak, "--out", out, "--force")[0] == 0


# 15 ------------------------------------------------------------------------------------------
def test_r2_15_killed_writers_temporaries_go_everywhere(voc, tmp_path):
    w = tmp_path / "w"
    assert cli("wsseg_weaklabels", voc, "--out", w, "--split-file", "val")[0] == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"]); dead.wait()
    stale = [w / "boxes" / f".x.json.{dead.pid}.k3j9_a2q.tmp", w / "scribbles" / f".x.png.{dead.pid}.0f8z1mm4.tmp"]   # as atomic_write names them
    for s in stale: s.write_bytes(b"half")
    assert cli("wsseg_weaklabels", voc, "--out", w, "--split-file", "val")[0] == 0
    assert not any(s.exists() for s in stale)


# 16 ------------------------------------------------------------------------------------------
def _bomb(path: Path, side: int = 20000) -> None:
    "A PNG whose header claims side x side pixels (decoding it would take gigabytes)."
    import struct, zlib as z
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", z.crc32(t + d) & 0xFFFFFFFF)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", z.compress(b"\0" * 10)) + chunk(b"IEND", b""))


def test_r2_16_a_decompression_bomb_is_one_line_and_skippable(voc, weak, tmp_path):
    _bomb(voc / "JPEGImages" / "2007_009897.jpg")
    base = ["wsseg_pseudolabel", "--method", "boxes", "--data-root", voc, "--weak-labels", weak]
    refused(cli(*base, "--out", tmp_path / "a"), "2007_009897", "too large to decode safely", "--skip-bad")
    rc, out, err = cli(*base, "--out", tmp_path / "b", "--skip-bad")
    assert rc == 0 and "1 skipped" in out and "Traceback" not in err, err


# 17 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("delay", [0.5, 1.0, 2.0])
def test_r2_17_ctrl_c_to_the_process_group_at_pool_start(voc, weak, tmp_path, delay):
    out = tmp_path / "pl"
    p = subprocess.Popen(["wsseg_pseudolabel", "--method", "grabcut", "--workers", "2", "--data-root", str(voc),
                          "--weak-labels", str(weak), "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    time.sleep(delay)
    os.killpg(p.pid, signal.SIGINT)                     # as a terminal sends it: to every process of the group
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "Traceback" not in err and "BrokenProcessPool" not in err, (delay, err)
    man = read_manifest(out / "manifest.json")
    assert man is None or man["status"] in ("interrupted",) and man["written"] == len(list(out.glob("*.png")))


def test_r2_17b_a_worker_killed_by_the_system_is_named(voc, weak, tmp_path):
    out = tmp_path / "pl"
    p = subprocess.Popen(["wsseg_pseudolabel", "--method", "logic", "--workers", "2", "--data-root", str(voc),
                          "--weak-labels", str(weak), "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(1200):
        kids = [k for k in _children(p.pid) if "spawn_main" in _cmdline(k)]
        if len(kids) >= 2 and len(list(out.glob("*.png"))) >= 1: break
        time.sleep(0.05)
    os.kill(kids[0], signal.SIGKILL)                    # as the OOM killer does
    _, err = p.communicate(timeout=120)
    assert p.returncode == 1 and "Traceback" not in err and "a worker process died" in err and "20" in err, err


# 18 ------------------------------------------------------------------------------------------
def test_r2_18_malformed_coco_is_one_line(voc, tmp_path):
    good = {"images": [{"id": 1, "file_name": "2007_009897.jpg", "width": 500, "height": 375}],
            "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 40]}], "categories": [{"id": 1, "name": "cow"}]}
    for msg, change in {"has bbox=None": lambda d: d["annotations"][0].pop("bbox"),
                        "has category_id=None": lambda d: d["annotations"][0].pop("category_id"),
                        "has file_name=None": lambda d: d["images"][0].pop("file_name"),
                        "has width=None": lambda d: d["images"][0].pop("width"),
                        "has name=None": lambda d: d["categories"][0].pop("name"),
                        "four finite numbers": lambda d: d["annotations"][0].update(bbox=[1, 2, float("inf"), 4]),
                        "expected [x, y, width, height]": lambda d: d["annotations"][0].update(bbox=[1, 2, 3])}.items():
        d = json.loads(json.dumps(good)); change(d); (tmp_path / "c.json").write_text(json.dumps(d).replace("Infinity", "1e999"))
        refused(cli("wsseg_weaklabels", voc, "--boxes", "coco", "--coco", tmp_path / "c.json", "--scribbles", "none",
                    "--split-file", "val", "--out", tmp_path / "w"), "c.json", msg)


# 19 ------------------------------------------------------------------------------------------
def test_r2_19_bad_option_values(voc, weak, tmp_path):
    (tmp_path / "d.json").write_text(json.dumps({"name": "x", "classes": ["background", "cat"], "things": ["cat"], "void": "255"}))
    refused(cli("wsseg_weaklabels", voc, "--dataset", tmp_path / "d.json", "--out", tmp_path / "w0"), "void is '255'")
    refused(cli("wsseg_weaklabels", voc, "--line-width", 0, "--out", tmp_path / "w1"), "--line-width 0")
    base = ["deeplab", "--labels", "gt", "--data-root", voc, "--arch", "resnet18", "--batch", 1, "--workers", 0]
    for opt, val in (("--iters", 0), ("--save-every", 0), ("--crop", -5)):
        refused(cli("wsseg_train", *base, "--out", tmp_path / f"m{opt}", opt, val, *(("--iters", 2) if opt != "--iters" else ())),
                f"{opt} {val}")
        assert not (tmp_path / f"m{opt}").exists()
    (tmp_path / "file").write_text("x")
    r = run("wsseg_reproduce", "--only", "f0_logic", "--out-dir", tmp_path / "file")
    assert r.returncode == 1 and "wsseg_reproduce: error: --out-dir" in r.stderr and "is a file" in r.stderr, r.stderr
    p = subprocess.Popen(["wsseg_reproduce", "--only", "f0_logic", "--out-dir", str(tmp_path / "r"), "--fig-dir", str(tmp_path / "f")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if (tmp_path / "r" / "smoke" / "f0_logic" / "manifest.json").is_file(): break
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "Traceback" not in err, err
    assert json.loads((tmp_path / "r" / "smoke" / "f0_logic" / "manifest.json").read_text())["status"] == "interrupted"


# 20 ------------------------------------------------------------------------------------------
def test_r2_20_datasets_of_more_than_21_classes(tmp_path):
    from PIL import Image
    d = tmp_path / "many"; (d / "images").mkdir(parents=True); (d / "scribbles").mkdir()
    names = ["background"] + [f"c{k}" for k in range(1, 30)]
    (d / "dataset.json").write_text(json.dumps({"name": "many", "classes": names, "things": names[20:], "background": "background",
                                                "layout": "folders"}))
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 60, 3), np.uint8)).save(d / "images" / "a.png")
    scr = np.full((40, 60), 255, np.uint8); scr[5, 5:20] = 0; scr[30, 30:50] = 25
    Image.fromarray(scr).save(d / "scribbles" / "a.png")
    assert cli("wsseg_weaklabels", d, "--dataset", d / "dataset.json", "--boxes", "none", "--scribbles", "png",
               "--scribble-dir", d / "scribbles", "--out", tmp_path / "w")[0] == 0
    rc, _, err = cli("wsseg_pseudolabel", "--dataset", d / "dataset.json", "--method", "random-walker", "--data-root", d,
                     "--weak-labels", tmp_path / "w", "--out", tmp_path / "p")
    assert rc == 0, err
    assert set(np.unique(read_label_png(tmp_path / "p" / "a.png")).tolist()) == {0, 25}


# 21 ------------------------------------------------------------------------------------------
def test_r2_21_huge_images_are_labelled_at_a_bounded_size(tmp_path):
    from PIL import Image
    d = tmp_path / "big"; (d / "JPEGImages").mkdir(parents=True); (d / "Annotations").mkdir()
    img = np.full((1500, 1500, 3), 40, np.uint8); img[400:1100, 400:1100] = (200, 40, 40)
    Image.fromarray(img).save(d / "JPEGImages" / "big.jpg")
    (d / "Annotations" / "big.xml").write_text("<annotation><size><width>1500</width><height>1500</height></size><object><name>dog</name>"
                                               "<bndbox><xmin>351</xmin><ymin>351</ymin><xmax>1150</xmax><ymax>1150</ymax></bndbox></object></annotation>")
    (d / "ids.txt").write_text("big\n")
    assert cli("wsseg_weaklabels", d, "--boxes", "xml", "--scribbles", "none", "--split-file", d / "ids.txt", "--out", tmp_path / "w")[0] == 0
    rc, _, err = cli("wsseg_pseudolabel", "--method", "grabcut", "--data-root", d, "--weak-labels", tmp_path / "w", "--out", tmp_path / "p")
    assert rc == 0, err
    lab = read_label_png(tmp_path / "p" / "big.png")
    assert lab.shape == (1500, 1500) and lab[750, 750] == 12 and lab[100, 100] == 0
    assert json.loads((tmp_path / "p" / "manifest.json").read_text())["counts"]["downscaled"] == 1   # 2.25 Mpx > MAX_PIXELS


# 22 ------------------------------------------------------------------------------------------
def test_r2_22_limits_and_messages(voc, weak, tmp_path):
    (tmp_path / "bom.txt").write_text("\ufeff2007_009897\n", encoding="utf-8")
    assert cli("wsseg_weaklabels", voc, "--split-file", tmp_path / "bom.txt", "--out", tmp_path / "w")[0] == 0
    pairs = tmp_path / "cv"; (pairs / "val").mkdir(parents=True)
    refused(cli("wsseg_evaluate", "--dataset", "camvid", "--pred", tmp_path / "w", "--data-root", pairs, "--split-file", tmp_path / "bom.txt"),
            "valannot/")
    (tmp_path / "afile").write_text("x")
    refused(cli("wsseg_pseudolabel", "--method", "boxes", "--data-root", voc, "--weak-labels", weak, "--out", tmp_path / "afile"),
            "is a file, not a folder")
    r = run("wsseg_reproduce", "--only", "f0_logic", "--dry-run", "-p", "pixel_truth", "nan")
    assert r.returncode == 1 and "pixel_truth='nan': expected a finite float" in r.stderr, r.stderr
