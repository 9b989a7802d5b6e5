"""Every notebook runs top to bottom in quick mode (KYOSO_QUICK=1) without an error."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from experiments.notebook_support import QUICK_ENV, quick_mode, sized, slider_spec, sweep_from_dict  # noqa: E402
from model.scenario import ScenarioError, load_scenario  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["01_quickstart.ipynb", "02_emergent_clustering.ipynb", "03_policy_scenarios.ipynb", "04_classroom.ipynb"]


def test_the_notebooks_listed_exist_and_are_committed_clean():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    readme = (NOTEBOOKS / "README.md").read_text()
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        assert name in readme
        assert nb.metadata["kernelspec"]["name"] == "python3"
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{name}: outputs not cleared"
                # notebooks import, never define (STYLE.md 11): only model, experiments and the usual libraries
                for line in cell.source.splitlines():
                    if line.startswith(("import ", "from ")):
                        mod = line.split()[1].split(".")[0]
                        assert mod in {"model", "experiments", "pandas", "numpy", "matplotlib", "ipywidgets",
                                       "tempfile", "pathlib"}, f"{name}: imports {mod}"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, tmp_path, monkeypatch):
    monkeypatch.setenv(QUICK_ENV, "1")
    # The kernel inherits the environment; an MPLBACKEND set for headless test
    # runs would keep Jupyter's inline backend (and so the figures) out.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()                         # raises CellExecutionError on the first failing cell
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # figures display inline as images (a returned Figure is shown, not just its repr)
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 3, f"{name}: {images} figures displayed"
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "quick mode: True" in printed
    # numbers the text states are printed from the run, and match it
    expected = {"01_quickstart.ipynb": ["the run starts in 2025Q1 (step 0) and ends in 2029Q1 (step 16)",
                                        "largest fab capacity: "],
                "02_emergent_clustering.ipynb": ["largest main effect: params.", "explains"],
                "03_policy_scenarios.ipynb": ["final quarter of each run", "Δ: paired difference to status_quo"],
                "04_classroom.ipynb": ["worst shortfall: ", "Δ: paired difference to status_quo",
                                       "governments.US.subsidy_rate = 0.4: share_US"]}[name]
    for text in expected:
        assert text in printed, f"{name}: {text!r} not printed"


def test_quick_mode(monkeypatch):
    monkeypatch.delenv(QUICK_ENV, raising=False)
    assert not quick_mode() and sized(64, 16) == 64
    for v in ("1", "true", "YES"):
        monkeypatch.setenv(QUICK_ENV, v)
        assert quick_mode() and sized(64, 16) == 16
    monkeypatch.setenv(QUICK_ENV, "0")
    assert not quick_mode()


def test_slider_spec_comes_from_the_schema():
    spec = slider_spec("governments.US.subsidy_rate")
    assert (spec["low"], spec["high"], spec["kind"], spec["unit"]) == (0.0, 1.0, "float", "share of capex")
    assert spec["value"] == load_scenario("baseline").governments["US"].subsidy_rate
    narrowed = slider_spec("params.w_agglomeration", limits=(0.0, 5.0))
    assert (narrowed["low"], narrowed["high"]) == (0.0, 5.0) and narrowed["value"] == pytest.approx(0.6)
    assert slider_spec("cocreation.fund.enabled")["kind"] == "bool"
    assert slider_spec("meta.horizon")["step"] == 1
    with pytest.raises(ScenarioError, match="within the schema"):
        slider_spec("governments.US.subsidy_rate", limits=(0.0, 2.0))
    with pytest.raises(ScenarioError):
        slider_spec("params.no_such_weight")


def test_lever_controls(monkeypatch):
    pytest.importorskip("ipywidgets")
    from experiments.notebook_support import lever_controls

    c = lever_controls({"governments.US.subsidy_rate": None, "params.w_agglomeration": (0.0, 5.0),
                        "cocreation.fund.enabled": None, "meta.horizon": (1, 40)})
    assert list(c) == ["governments__US__subsidy_rate", "params__w_agglomeration", "cocreation__fund__enabled",
                       "meta__horizon"]
    assert (c["governments__US__subsidy_rate"].min, c["governments__US__subsidy_rate"].max) == (0.0, 1.0)
    assert c["params__w_agglomeration"].max == 5.0 and c["cocreation__fund__enabled"].value is False
    assert c["meta__horizon"].max == 40


def test_sweep_from_dict_validates():
    from experiments.sweepfile import SweepError

    ok = sweep_from_dict({"name": "s", "scenario": "baseline", "quarters": 2, "design": "grid",
                          "metrics": ["clustering_index"], "parameters": {"params.w_agglomeration": [0.1, 1.0]}})
    assert ok.names == ["params.w_agglomeration"] and ok.quarters == 2
    with pytest.raises(SweepError, match="w_agglomeration"):
        sweep_from_dict({"name": "s", "scenario": "baseline", "design": "grid", "metrics": ["clustering_index"],
                         "parameters": {"params.w_agglomeration": [-1.0, 1.0]}})


def test_the_python3_kernel_is_this_environment():
    """nbclient starts the ``python3`` kernel spec; it must run this interpreter (the venv's),
    which has kyoso installed, without a separate ``ipykernel install``."""
    import sys

    from jupyter_client.kernelspec import KernelSpecManager

    exe = KernelSpecManager().get_kernel_spec("python3").argv[0]
    assert exe in ("python", "python3") or Path(exe).resolve() == Path(sys.executable).resolve()


def _sources(name: str) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nbformat.read(NOTEBOOKS / name, as_version=4).cells]


def test_notebook_text_agrees_with_its_code():
    """The mistakes of issue 12 stay fixed: each is checked where the text and the code meet."""
    from model import ChipModel

    # 01: 64 quarters from 2025Q1 end in 2041Q1 (the comment, and the assertion in the notebook)
    assert ChipModel("baseline", rng=0).quarter_of(64) == "2041Q1"
    one = "\n".join(src for _, src in _sources("01_quickstart.ipynb"))
    assert "2040Q4" not in one and 'last_q == "2041Q1"' in one
    # 01: the capacity table counts the fab segments the share charts divide, and checks it
    assert 'FAB_SEGMENTS = ["logic", "memory", "sensors", "power"]' in one and 'row[f"share_{c}"]' in one
    # 02: no one-run `.last()` beside a mean
    for name in NAMES:
        assert ".last()" not in "\n".join(src for _, src in _sources(name)), name
    # 03: the table headed "final quarter" reduces with at="final"
    cells = _sources("03_policy_scenarios.ipynb")
    k = next(i for i, (kind, src) in enumerate(cells) if kind == "markdown" and src.startswith("## All in one table"))
    assert 'at="final"' in cells[k][1] and 'at="final"' in cells[k + 1][1] and 'at="mean"' not in cells[k + 1][1]
    # 04: "two settings in one picture" draws both settings; counts use the range band (never below 0)
    four = _sources("04_classroom.ipynb")
    two = next(src for kind, src in four if kind == "code" and "two settings in one picture" in src)
    assert two.count("ChipModel(") == 2 and "scenario_comparison" in two
    assert 'plots.scenario_comparison(cmp.frames, "partnerships_jk", band="range")' in "\n".join(s for _, s in four)
    assert "compare_scenarios" in "\n".join(s for _, s in four)
    assert "compare_scenarios" in "\n".join(s for _, s in _sources("03_policy_scenarios.ipynb"))
