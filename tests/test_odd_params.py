"""The generated sections of docs/ (ODD §8.1 parameters, §7.21 metrics, the phase table) match the code."""

import shutil
import subprocess
import sys
from pathlib import Path

from model.docsections import SECTIONS, main, read_section, stale
from model.scenario.docs import parameter_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"
PARAMS = next(s for s in SECTIONS if s.name == "parameters")


def test_every_generated_section_matches_the_code():
    assert stale() == [], "docs/ differs from the code: run `make docs`"


def test_table_lists_every_new_parameter_with_bounds_and_default():
    table = parameter_markdown()
    for row in ("| `network.spare_floor` | share of capacity | 0.05 | [0.0, 1.0] |",
                "| `network.formation_rounds` | rounds | 4 | [1, ∞) |",
                "| `resilience.recovery_tolerance` | share of planned output | 0.005 | [0.0, 1.0] |"):
        assert row in table


def test_check_reports_drift_in_one_line_and_rewrite_fixes_it(tmp_path, capsys):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    odd = docs / "ODD.md"
    text = odd.read_text(encoding="utf-8")
    odd.write_text(text.replace("`params.w_subsidy`", "`params.w_stale`"), encoding="utf-8")
    assert main(["--check", "--docs", str(docs)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "parameters" in err and "make docs" in err
    assert main(["--docs", str(docs)]) == 0
    assert main(["--check", "--docs", str(docs)]) == 0
    assert "`params.w_subsidy`" in read_section(PARAMS, docs)


def test_missing_markers_is_an_error(tmp_path, capsys):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    (docs / "ODD.md").write_text("# no markers\n", encoding="utf-8")
    assert main(["--check", "--docs", str(docs)]) == 2
    assert "BEGIN generated" in capsys.readouterr().err


def test_module_runs_as_a_command():
    out = subprocess.run([sys.executable, "-m", "model.docsections", "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
