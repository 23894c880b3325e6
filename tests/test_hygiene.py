"""Repository hygiene: exports in sync with notebooks, clean notebooks, one parameters cell per experiment."""
import configparser
import filecmp
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"


def _copy_project(tmp_path: Path) -> Path:
    dst = tmp_path / "proj"
    dst.mkdir()
    shutil.copy(ROOT / "settings.ini", dst)
    shutil.copytree(NBS, dst / "nbs", ignore=shutil.ignore_patterns("_out", ".ipynb_checkpoints"))
    shutil.copytree(ROOT / "wsseg_nb", dst / "wsseg_nb", ignore=shutil.ignore_patterns("__pycache__", "sample"))
    return dst


def _diff_tree(a: Path, b: Path, pattern: str) -> list[str]:
    names = sorted({p.relative_to(a) for p in a.rglob(pattern)} | {p.relative_to(b) for p in b.rglob(pattern)})
    return [str(n) for n in names if not ((a / n).exists() and (b / n).exists() and filecmp.cmp(a / n, b / n, shallow=False))]


def test_exports_in_sync_with_notebooks(tmp_path):
    proj = _copy_project(tmp_path)
    subprocess.run(["nbdev_export"], cwd=proj, check=True, capture_output=True)
    changed = _diff_tree(ROOT / "wsseg_nb", proj / "wsseg_nb", "*.py")
    assert not changed, f"nbdev_export changes {changed}: run `nbdev_export` and commit notebooks and exports together"


def test_notebooks_are_clean(tmp_path):
    proj = _copy_project(tmp_path)
    subprocess.run(["nbdev_clean"], cwd=proj, check=True, capture_output=True)
    changed = _diff_tree(NBS, proj / "nbs", "*.ipynb")
    assert not changed, f"nbdev_clean changes {changed}: run `nbdev_clean` before committing"


def _experiment_notebooks():
    return sorted(p for p in (NBS / "experiments").glob("*.ipynb") if not p.name.startswith("_"))


def test_there_are_experiments():
    assert _experiment_notebooks(), "nbs/experiments holds no notebook"


@pytest.mark.parametrize("nb", _experiment_notebooks(), ids=lambda p: p.stem)
def test_experiment_has_one_parameters_cell(nb):
    cells = json.loads(nb.read_text())["cells"]
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{nb.name}: {len(tagged)} cells tagged 'parameters' (cells {tagged}); expected exactly one"
    assert not any(c["cell_type"] == "code" and "default_exp" in "".join(c["source"]) for c in cells), \
        f"{nb.name}: experiment notebooks export nothing"


@pytest.mark.parametrize("nb", _experiment_notebooks(), ids=lambda p: p.stem)
def test_papermill_reads_every_parameter(nb):
    "papermill silently drops a parameter line it cannot parse (e.g. '=' or quotes in its comment)."
    import re
    import papermill as pm
    cell = next(c for c in json.loads(nb.read_text())["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    declared = {m.group(1) for l in "".join(cell["source"]).splitlines() if (m := re.match(r"(\w+)\s*:", l))}
    missing = declared - set(pm.inspect_notebook(str(nb)))
    assert not missing, f"{nb.name}: papermill cannot parse the parameters {sorted(missing)}; keep '=' and quotes out of their comments"


def test_environment_yml_mirrors_settings():
    cfg = configparser.ConfigParser(delimiters=["="])
    cfg.read(ROOT / "settings.ini")
    wanted = cfg["DEFAULT"]["requirements"].split() + cfg["DEFAULT"]["dev_requirements"].split()
    env = (ROOT / "environment.yml").read_text()
    missing = [r for r in wanted if f"- {r}\n" not in env and not r.startswith("fastcore>=")]
    assert not missing, f"environment.yml lacks {missing} from settings.ini"


def test_settings_keep_papermill_tags():
    cfg = configparser.ConfigParser(delimiters=["="])
    cfg.read(ROOT / "settings.ini")
    assert cfg["DEFAULT"]["allowed_cell_metadata_keys"].split() == ["tags"]
    assert set(cfg["DEFAULT"]["tst_flags"].split()) == {"slow", "gpu"}


def _blank_lines_collapsed(text: str) -> list[str]:
    return [l.rstrip() for l in text.splitlines() if l.strip()]


def test_readme_is_generated_from_the_index():
    r = subprocess.run(["jupyter", "nbconvert", "--to", "markdown", "--stdout", str(NBS / "index.ipynb")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert _blank_lines_collapsed(r.stdout) == _blank_lines_collapsed((ROOT / "README.md").read_text()), \
        "README.md differs from nbs/index.ipynb: jupyter nbconvert --to markdown --stdout nbs/index.ipynb > README.md"



def test_module_graph_has_no_private_or_in_function_imports():
    "The package's modules import each other at the top, and only public names."
    import ast
    for f in sorted((ROOT / "wsseg_nb").glob("*.py")):
        if f.name.startswith("_"): continue
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("wsseg_nb")):
                assert node.col_offset == 0, f"{f.name}:{node.lineno}: in-function import of {node.module}"
                bad = [a.name for a in node.names if a.name.startswith("_")]
                assert not bad, f"{f.name}:{node.lineno}: imports private {bad} from {node.module}"


def test_committed_results_carry_no_machine_path():
    "Results, tables and executed notebooks under results/ record paths relative to the checkout (issue 24)."
    import re
    tracked = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    bad = {}
    for f in tracked:
        if Path(f).suffix in (".json", ".md", ".csv", ".ipynb", ".txt"):
            hits = re.findall(r"""(?<![\w.])/(?:work|tmp|root|home|Users|private|mnt)/[^"'\s,)]*""", (ROOT / f).read_text(errors="replace"))
            if hits: bad[f] = hits[:2]
    assert not bad, f"absolute paths in committed results: {dict(list(bad.items())[:5])}"
