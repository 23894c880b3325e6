"""The formula at a working resolution does not lie about tightness (issue 10), on real VOC images."""
import os
from pathlib import Path

import numpy as np
import pytest


def voc_mini() -> Path | None:
    "The shared voc_mini folder (WSSEG_VOC_MINI, or ../shared/data/voc_mini beside the checkout), if present."
    here = Path(__file__).resolve().parents[1]
    for p in (os.environ.get("WSSEG_VOC_MINI"), here.parent/"shared/data/voc_mini", Path("/work/shared/data/voc_mini")):
        if p and (Path(p)/"JPEGImages").is_dir(): return Path(p)
    return None


def _tightness_drop(root: Path, size: int) -> list[tuple[float, str]]:
    "Per image: mean per-row tightness log-truth of the GT at `size` minus at full resolution."
    from wsseg_nb.formula import formula_terms
    from wsseg_nb.datasets import open_folder
    from wsseg_nb.simulate import simulate_weak_labels
    voc, out = open_folder(root), []
    for i in voc.all_ids():
        gt = voc.gt(i)
        weak = simulate_weak_labels(i, gt, seed=0)
        if not weak.boxes: continue
        labels = np.where(gt == 255, 0, gt).astype(np.uint8)
        t = {s: formula_terms(labels, weak, size=s, constraints=("tightness",), reduce="mean")["tightness"] for s in (size, 0)}
        out.append((t[size] - t[0], i))
    return out


@pytest.mark.parametrize("source", ["sample", "voc_mini"])
def test_tightness_at_working_size_is_no_worse_for_the_truth(source):
    from wsseg_nb.datasets import sample_root
    root = sample_root() if source == "sample" else voc_mini()
    if root is None: pytest.skip("voc_mini not found (set WSSEG_VOC_MINI)")
    drops = _tightness_drop(root, 128)
    assert len(drops) >= 9
    worst = min(drops)
    assert worst[0] >= -0.05, f"the GT's tightness at long side 128 is {worst[0]:.3f} below full resolution on {worst[1]}"
