"""Benchmark: the logic pseudo-labeller alone and beside a CPU-bound process.

Runs `wsseg_pseudolabel --method logic` on 8 images of the bundled sample (simulated weak labels), once
alone and once while another process spins on one core, and prints both wall times and their ratio. With
torch's intra-op threads spinning against the other process the second run took 27x the first on 2 cores;
with the package's thread policy (a pool of one-thread processes) the goal is at most 2.5x.
Extra arguments go to wsseg_pseudolabel (e.g. `--workers 0 --threads 2` to see the old behaviour).

Run: `python tests/bench_threads.py [wsseg_pseudolabel options]`.
"""
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _label(tmp: Path, out: str, extra) -> float:
    from wsseg_nb.datasets import sample_root
    ids = tmp/"ids.txt"
    t0 = time.perf_counter()
    r = subprocess.run(["wsseg_pseudolabel", "--method", "logic", "--data-root", str(sample_root()), "--weak-labels",
                        str(tmp/"weak"), "--split-file", str(ids), "--out", str(tmp/out), *extra], capture_output=True, text=True)
    if r.returncode: raise SystemExit(r.stderr)
    return time.perf_counter() - t0


def main():
    extra = sys.argv[1:]
    from wsseg_nb.datasets import open_folder, sample_root
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        subprocess.run(["wsseg_weaklabels", str(sample_root()), "--out", str(tmp/"weak")], check=True, capture_output=True)
        (tmp/"ids.txt").write_text("\n".join(open_folder(sample_root()).all_ids()[:8]) + "\n")
        alone = _label(tmp, "alone", extra)
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1)
            beside = _label(tmp, "beside", extra)
        finally:
            busy.kill()
    print(f"logic on 8 images: alone {alone:.1f} s, beside a busy process {beside:.1f} s ({beside / alone:.2f}x; goal <= 2.5x)"
          + (f" [options: {' '.join(extra)}]" if extra else ""))


if __name__ == "__main__":
    main()
