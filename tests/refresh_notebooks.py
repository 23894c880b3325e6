"""Refresh the outputs the library notebooks keep for their readers (`nbdev_test` runs them but writes nothing).

Each notebook in `nbs/` (not `index`, not the experiments, whose outputs are runs of their own) is executed
in place from its own folder, but for the cells `nbdev_test` skips too (`#| slow`, `#| gpu`), one thread per process so its numbers do not depend on the machine's cores,
progress bars off (they carry timings). Then what would change from machine to machine goes: execution
counts and times (`nbdev_clean`), widget state, stderr streams (warnings carry install paths). A refresh
that leaves an absolute path or a timing in an output fails, naming the notebook and the text.

Run: `python tests/refresh_notebooks.py [NAME ...]` (default: every library notebook), then `git diff nbs/`.
"""
import argparse
import json
import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"
MACHINE_PATH = re.compile(r"""(?<![\w.])/(?:work|tmp|root|home|Users|private|mnt|var/folders)/[^"'\s,)]*""")
TIMING = re.compile(r"\b\d+(?:\.\d+)?\s?(?:s|ms|seconds|images/s|it/s)(?:/image|/iteration| per image|/edit)?\b(?![\w-])")
BAR = re.compile(r"\d+%\|")   # a progress bar drawn as a widget (a caller asked for one)


def library_notebooks() -> list[Path]:
    "The notebooks whose outputs are kept: every nbs/*.ipynb but the index."
    return sorted(p for p in NBS.glob("*.ipynb") if p.stem != "index")


def _text(out: dict) -> str:
    "An output's text (streams, plain-text results), where a path or a timing could hide."
    if out.get("output_type") == "stream": return "".join(out.get("text", ""))
    return "".join(out.get("data", {}).get("text/plain", ""))


def _merge_streams(outputs: list[dict]) -> list[dict]:
    "Consecutive stream outputs of one stream as one: how the kernel splits them depends on when it flushes."
    merged = []
    for o in outputs:
        if merged and o.get("output_type") == "stream" and merged[-1].get("output_type") == "stream" and merged[-1]["name"] == o["name"]:
            merged[-1] = {**merged[-1], "text": ("".join(merged[-1]["text"]) + "".join(o["text"])).splitlines(keepends=True)}
        else: merged.append(o)
    return merged


def tidy(path: Path) -> list[str]:
    "Drop what differs between machines from an executed notebook; returns the problems left in its outputs."
    nb = json.loads(path.read_text())
    nb["metadata"] = {"kernelspec": {"display_name": "python3", "language": "python", "name": "python3"}}
    problems = []
    for k, c in enumerate(nb["cells"]):
        if c["cell_type"] != "code": continue
        c["outputs"] = [o for o in c.get("outputs", []) if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                        and not BAR.search(_text(o))]
        c["outputs"] = _merge_streams(c["outputs"])
        for o in c["outputs"]:
            t = _text(o)
            problems += [f"{path.name} cell {k}: machine path {m!r}" for m in MACHINE_PATH.findall(t)]
            problems += [f"{path.name} cell {k}: timing {m!r} in {t.strip()[:80]!r}" for m in TIMING.findall(t)]
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    subprocess.run(["nbdev_clean", "--fname", str(path)], check=True, cwd=ROOT)
    return problems


SKIP = {"slow", "gpu"}   # as nbdev_test: cells flagged so are not run here (their outputs are left as they are)


def _flags(source: str) -> set[str]:
    "The nbdev directives of a cell's first lines (`#| slow` -> {'slow'})."
    out = set()
    for line in source.splitlines():
        if not line.startswith("#|"): break
        out |= set(line[2:].split())
    return out


def refresh(path: Path, timeout: int) -> list[str]:
    "Execute one notebook in place (but its slow, gpu and export-call cells) and tidy it; returns the problems left."
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor

    class Skipping(ExecutePreprocessor):
        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type == "code" and (_flags(cell.source) & SKIP or "nbdev_export()" in cell.source): return cell, resources
            return super().preprocess_cell(cell, resources, index)

    for k, v in {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TQDM_DISABLE": "1", "PYTHONWARNINGS": "ignore"}.items():
        os.environ[k] = v   # inherited by the kernel
    os.environ.pop("MPLBACKEND", None)   # the kernel's inline backend: figures as PNG outputs
    nb = nbformat.read(path, as_version=4)
    Skipping(timeout=timeout, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(path.parent)}})
    nbformat.write(nb, path)
    return tidy(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="notebook names (e.g. 03_constraints); default: every library notebook")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    a = ap.parse_args()
    paths = [NBS / f"{n.removesuffix('.ipynb')}.ipynb" for n in a.names] or library_notebooks()
    problems = []
    for p in paths:
        print(f"refreshing {p.name}", flush=True)
        problems += refresh(p, a.timeout)
    if problems: raise SystemExit("outputs that would differ on another machine:\n  " + "\n  ".join(problems))
    kb = {p.name: p.stat().st_size // 1024 for p in paths}
    print("refreshed " + ", ".join(f"{n} ({s} KB)" for n, s in kb.items()))


if __name__ == "__main__":
    main()
