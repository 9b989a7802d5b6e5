"""Never lose a user's files: `make demo` has its own folder, `kyoso run --force` replaces only
the files a run writes, never a sweep store, and nothing is left half-written."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.cli import main
from experiments.errors import UserError
from experiments.runner import run_scenario, write_run

ROOT = Path(__file__).parent.parent
TINY = str(Path(__file__).parent / "data" / "tiny.toml")
KYOSO = str(Path(sys.executable).with_name("kyoso"))
ENV = {**os.environ, "MPLBACKEND": "Agg"}



def small_sweep(tmp_path: Path) -> Path:
    """tests/data/tiny_sweep.toml cut to 3 runs of 2 quarters."""
    text = (Path(TINY).parent / "tiny_sweep.toml").read_text()
    text = text.replace('"tiny.toml"', f'"{TINY}"').replace("replications = 40", "replications = 1")
    path = tmp_path / "s.toml"
    path.write_text(text.replace("quarters = 12", "quarters = 2"))
    return path


def kyoso(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([KYOSO, *argv], capture_output=True, text=True, env=ENV, timeout=300)


def demo_command() -> list[str]:
    """The `kyoso` arguments of the Makefile's demo recipe."""
    text = (ROOT / "Makefile").read_text()
    recipe = text.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    line = next(ln for ln in recipe.splitlines() if "/kyoso run" in ln)
    return shlex.split(line.split("/kyoso", 1)[1])


def test_make_demo_writes_its_own_folder():
    argv = demo_command()
    out = argv[argv.index("--out") + 1]
    assert out == "out/demo", argv
    assert "--force" in argv


def test_user_files_and_a_sibling_sweep_survive_demo_runs_twice_and_force(tmp_path):
    """What a new user does: make demo, a sweep where the README says, make demo again, run --force."""
    out = tmp_path / "out"
    demo = out / "demo"
    argv = demo_command()
    argv[argv.index("--out") + 1] = str(demo)
    argv += ["--quarters", "4"]
    res = kyoso(*argv)
    assert res.returncode == 0, res.stderr
    assert (demo / "figures" / "region_map.png").is_file()
    (out / "notes.txt").write_text("beside the output")
    (demo / "mine.csv").write_text("inside the output")
    (demo / "figures" / "my_figure.png").write_bytes(b"not kyoso's")
    assert main(["sweep", str(small_sweep(tmp_path)), "--out", str(out / "svr"), "--backend", "serial",
                 "--no-progress"]) == 0
    store = sorted(p.relative_to(out / "svr") for p in (out / "svr").rglob("*"))
    res = kyoso(*argv)                                        # make demo, again
    assert res.returncode == 0, res.stderr
    res = kyoso("run", "baseline", "--seed", "1", "--quarters", "4", "--out", str(demo), "--force", "--no-figures")
    assert res.returncode == 0, res.stderr
    assert (out / "notes.txt").read_text() == "beside the output"
    assert (demo / "mine.csv").read_text() == "inside the output"
    assert (demo / "figures" / "my_figure.png").read_bytes() == b"not kyoso's"
    assert not (demo / "figures" / "region_map.png").exists()      # the earlier run's figure, now stale
    assert sorted(p.relative_to(out / "svr") for p in (out / "svr").rglob("*")) == store
    manifest = json.loads((demo / "manifest.json").read_text())
    assert manifest["seed"] == 1 and "metrics.parquet" in manifest["files"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]          # no temporary folders left


def test_force_never_writes_into_a_sweep_store(tmp_path, capsys):
    store = tmp_path / "svr"
    assert main(["sweep", str(small_sweep(tmp_path)), "--out", str(store), "--backend", "serial", "--no-progress"]) == 0
    before = (store / "manifest.json").read_text()
    capsys.readouterr()
    assert main(["run", TINY, "--quarters", "2", "--out", str(store), "--force", "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert "sweep" in err and err.count("\n") == 1
    assert (store / "manifest.json").read_text() == before and not (store / "metrics.parquet").exists()


def test_a_failed_write_leaves_the_earlier_run_and_no_half_files(tmp_path):
    out = tmp_path / "run"
    model = run_scenario(TINY, seed=0, quarters=2)
    write_run(out, model, model.tables(), seed=0, overrides={})
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "keep.txt").write_text("mine")

    def broken(tmp: Path) -> None:
        (tmp / "figures").mkdir()
        (tmp / "figures" / "half.png").write_bytes(b"half")
        raise RuntimeError("figure failed")

    model2 = run_scenario(TINY, seed=5, quarters=3)
    with pytest.raises(RuntimeError, match="figure failed"):
        write_run(out, model2, model2.tables(), seed=5, overrides={}, force=True, extras=broken)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != "keep.txt"} == before
    assert (out / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]        # the temporary folder is gone
    with pytest.raises(UserError, match="--force"):
        write_run(out, model2, model2.tables(), seed=5, overrides={})


def _readme_outputs() -> list[tuple[str, str]]:
    """(command, --out folder) of every README example that names a real folder."""
    text = (ROOT / "README.md").read_text()
    rows = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = line.split("#", 1)[0].split()
            if words[:1] == ["kyoso"] and "--out" in words:
                out = words[words.index("--out") + 1]
                if out.isupper():           # DIR, OUT, FIGDIR: placeholders
                    continue
                rows.append((line.strip(), out))
    return rows


def test_readme_examples_write_to_distinct_folders():
    rows = _readme_outputs()
    assert len(rows) >= 4
    fresh = [out for line, out in rows if "--resume" not in line]
    assert len(fresh) == len(set(fresh)), fresh
    for a in fresh:
        assert a not in ("out", "."), a
        for b in fresh:
            assert a == b or Path(a) not in Path(b).parents, (a, b)
    assert "out/demo" not in fresh
