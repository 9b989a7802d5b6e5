"""ODD §8.1 is generated from the schema: the file must match the generator."""

import subprocess
import sys
from pathlib import Path

from model.scenario.docs import BEGIN, END, main, parameter_markdown, rewrite_parameters

ODD = Path(__file__).resolve().parents[1] / "docs" / "ODD.md"


def test_odd_parameter_table_matches_the_schema():
    text = ODD.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert rewrite_parameters(text) == text, "docs/ODD.md §8.1 differs from the schema: run `make docs`"


def test_table_lists_every_new_parameter_with_bounds_and_default():
    table = parameter_markdown()
    for row in ("| `network.spare_floor` | share of capacity | 0.05 | [0.0, 1.0] |",
                "| `network.formation_rounds` | rounds | 4 | [1, ∞) |",
                "| `resilience.recovery_tolerance` | share of planned output | 0.005 | [0.0, 1.0] |"):
        assert row in table


def test_check_reports_drift_in_one_line_and_rewrite_fixes_it(tmp_path, capsys):
    odd = tmp_path / "ODD.md"
    odd.write_text(f"# ODD\n\n{BEGIN}\n| stale |\n{END}\n\nafter\n", encoding="utf-8")
    assert main(["--check", str(odd)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "make docs" in err
    assert main([str(odd)]) == 0
    assert main(["--check", str(odd)]) == 0
    text = odd.read_text(encoding="utf-8")
    assert "| stale |" not in text and text.endswith(f"{END}\n\nafter\n")
    assert "`params.w_subsidy`" in text


def test_missing_markers_is_an_error(tmp_path, capsys):
    odd = tmp_path / "ODD.md"
    odd.write_text("# no markers\n", encoding="utf-8")
    assert main(["--check", str(odd)]) == 2
    assert "BEGIN generated" in capsys.readouterr().err


def test_module_runs_as_a_command():
    out = subprocess.run([sys.executable, "-m", "model.scenario.docs", "--check", str(ODD)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
