"""A constraint of your own, from a file, everywhere (issue 21): the logic method pooled, SAM fine-tuning, manifests, resume."""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from wsseg_nb.datasets import sample_root
from wsseg_nb.images import read_label_png

# A prior built only from wsseg_nb.logic and the memberships: "no pixel is a person" (class 15 in VOC).
PRIOR = '''from wsseg_nb.constraints import constraint
from wsseg_nb.logic import forall


@constraint(classes=("person",), weight=50.0)
def no_person(m, labels, *, reduce="sum", per_grounding=False):
    "No pixel is a person (a deliberately wrong prior: its effect is easy to see)."
    truth = m.log_not[labels.channel("person")]
    t = forall(truth, reduce=reduce)
    return (t, truth) if per_grounding else t
'''


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def weak(tmp_path_factory):
    d = tmp_path_factory.mktemp("cf")
    assert run("wsseg_weaklabels", sample_root(), "--out", d / "weak").returncode == 0
    (d / "prior.py").write_text(PRIOR)
    assert len(PRIOR.strip().splitlines()) == 10
    return d


def _person_pixels(folder: Path) -> int:
    return sum(int((read_label_png(p) == 15).sum()) for p in sorted(folder.glob("*.png")))


def test_a_file_changes_the_logic_method_pooled_and_its_manifest_records_it(weak):
    base = ["wsseg_pseudolabel", "--method", "logic", "--data-root", sample_root(), "--weak-labels", weak / "weak",
            "--steps", "10", "--workers", "2"]
    r0 = run(*base, "--out", weak / "plain")
    r1 = run(*base, "--out", weak / "prior", "--constraint-file", weak / "prior.py")
    assert r0.returncode == 0 and r1.returncode == 0 and "10 written" in r1.stdout, r1.stderr
    man = json.loads((weak / "prior" / "manifest.json").read_text())
    assert man["workers"] == 2 and man["params"]["constraint_files"][0]["path"] == str((weak / "prior.py").resolve())
    assert len(man["params"]["constraint_files"][0]["sha256"]) == 64 and "no_person" in man["params"]["options"]["judge"]
    assert _person_pixels(weak / "prior") < _person_pixels(weak / "plain")   # the prior reached the pool's workers
    edited = weak / "prior.py"; edited.write_text(PRIOR.replace("50.0", "49.0"))
    r = run(*base, "--out", weak / "prior", "--constraint-file", edited)
    assert r.returncode == 1 and "constraint_files was" in r.stderr and "Traceback" not in r.stderr, r.stderr
    edited.write_text(PRIOR)


def test_a_file_reaches_sam_fine_tuning(weak):
    base = ["wsseg_pseudolabel", "--method", "sam", "--model-type", "tiny", "--epochs", "1", "--lr", "0.01", "--data-root",
            sample_root(), "--weak-labels", weak / "weak", "--split-file", weak / "persons.txt"]
    (weak / "persons.txt").write_text("2007_001185\n2008_000008\n")   # images with a person
    assert run(*base, "--out", weak / "sam0").returncode == 0
    r = run(*base, "--out", weak / "sam1", "--constraint-file", weak / "prior.py")
    assert r.returncode == 0, r.stderr
    log0 = [json.loads(l) for l in (weak / "sam0" / "decoder" / "loss_log.jsonl").read_text().splitlines()]
    log1 = [json.loads(l) for l in (weak / "sam1" / "decoder" / "loss_log.jsonl").read_text().splitlines()]
    assert "no_person" in log1[-1] and "no_person" not in log0[-1]
    assert not np.array_equal(read_label_png(weak / "sam0" / "2008_000008.png"), read_label_png(weak / "sam1" / "2008_000008.png"))


def test_unknown_names_list_both_kinds(weak):
    r = run("wsseg_pseudolabel", "--method", "logic", "--data-root", sample_root(), "--weak-labels", weak / "weak",
            "--out", weak / "x", "--constraint-file", weak / "prior.py", "--constraints", "no_persn")
    assert r.returncode == 2 and "built in: ['background'" in r.stderr and "from constraint files: ['no_person']" in r.stderr, r.stderr
    r = run("wsseg_pseudolabel", "--method", "logic", "--data-root", sample_root(), "--weak-labels", weak / "weak",
            "--out", weak / "x", "--constraint-file", weak / "nonexistent.py")
    assert r.returncode == 1 and "nonexistent.py does not exist" in r.stderr


def test_the_shipped_acdc_priors_load_by_path():
    import wsseg_nb
    from wsseg_nb.constraints import CONSTRAINTS, load_constraint_files
    path = Path(wsseg_nb.__file__).parent / "priors" / "acdc.py"
    info = load_constraint_files([path])
    assert {"myo_separates_lv", "rv_touches_myo", "myo_hugs_lv", "lv_is_filled"} <= set(info[0]["constraints"])
    assert CONSTRAINTS["myo_separates_lv"].classes == ("lv", "myo")
