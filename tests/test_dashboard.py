"""The teaching dashboard in a real browser: ``solara run experiments/dashboard/app.py`` on
127.0.0.1, driven by Playwright in headless Debian Chromium.

Needs ``/usr/bin/chromium`` (``.ci/run`` installs it) and the ``viz`` and
``test`` extras.  Without them the test skips locally and FAILS in CI
(``CI=true``).  The screenshot goes to the test's tmp_path and, when
``KYOSO_ARTIFACTS`` is set, is copied there as ``dashboard.png``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "experiments" / "dashboard" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
SERVER_START_TIMEOUT = 40.0  # seconds until solara answers
QUARTER = re.compile(r"Quarter (\d{4}Q[1-4])")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _missing(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: the dashboard test must run in CI; .ci/run installs Chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Path:
    for module, extra in (("playwright", "test"), ("solara", "viz"), ("mesa.visualization", "viz")):
        if importlib.util.find_spec(module.split(".")[0]) is None:
            _missing(f"{module} is not installed (pip install -e '.[{extra}]')")
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not found (apt-get install -y chromium)")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and everything it started (it runs in its own process group)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


@pytest.fixture
def server(chromium, tmp_path):
    port = _free_port()
    log = (tmp_path / "solara.log").open("wb")
    env = {**os.environ, "MPLBACKEND": "Agg", "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "solara", "run", str(APP), "--host", "127.0.0.1", "--port", str(port),
         "--production", "--no-open", "--no-check-version"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"solara exited with status {proc.returncode}:\n"
                            f"{(tmp_path / 'solara.log').read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"solara did not answer on {url} within {SERVER_START_TIMEOUT:.0f} s")
            time.sleep(0.3)
        yield url
    finally:
        _stop(proc)
        log.close()


def _quarter(page) -> str:
    m = QUARTER.search(page.get_by_text(QUARTER).first.inner_text())
    assert m, "no 'Quarter YYYYQn' text on the page"
    return m.group(1)


def _plot_sources(page) -> list[str]:
    """The src of every plot image (matplotlib PNGs as data URLs or blobs)."""
    return page.locator("img").evaluate_all("els => els.map(e => e.src)")


def test_dashboard_steps_in_a_real_browser(server, chromium, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1400})
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.goto(server, timeout=20_000)

            step = page.get_by_role("button", name="Step", exact=True)
            expect(step).to_be_visible(timeout=20_000)
            expect(page.get_by_text(QUARTER).first).to_be_visible(timeout=15_000)
            first = _quarter(page)
            assert first == "2025Q1"
            expect(page.locator("img")).to_have_count(5, timeout=15_000)
            before = _plot_sources(page)

            expected = ["2025Q2", "2025Q3", "2025Q4", "2026Q1"]
            for q in expected:
                step.click()
                expect(page.get_by_text(f"Quarter {q}")).to_be_visible(timeout=10_000)
                expect(step).to_be_enabled(timeout=10_000)
            assert _quarter(page) == expected[-1]

            # Plots re-render for the new quarter: wait until every image has changed.
            deadline = time.monotonic() + 10
            while True:
                after = _plot_sources(page)
                changed = [a != b for a, b in zip(after, before)]
                if len(after) == len(before) and all(changed) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert len(after) == len(before) >= 5
            assert all(changed), f"plots that did not change after 4 steps: {changed}"

            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            if os.environ.get("KYOSO_ARTIFACTS"):
                dest = Path(os.environ["KYOSO_ARTIFACTS"])
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, dest / "dashboard.png")

            # One model per browser session: a new tab starts at the first quarter.
            other = browser.new_page(viewport={"width": 1200, "height": 900})
            other.on("pageerror", lambda e: errors.append(f"pageerror (second tab): {e}"))
            other.goto(server, timeout=20_000)
            expect(other.get_by_text("Quarter 2025Q1")).to_be_visible(timeout=20_000)
            assert _quarter(page) == expected[-1]
        finally:
            browser.close()
    assert not errors, "browser console errors:\n" + "\n".join(errors)


# ----------------------------------------------------------- kyoso dashboard
def test_dashboard_command_without_viz_extra_is_one_line_error(monkeypatch, capsys):
    """No solara: exit status 2 and one line naming the extra; nothing is started."""
    from experiments.cli import main

    monkeypatch.setitem(sys.modules, "solara", None)   # find_spec then reports it unavailable
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("must not start a server"))
    assert main(["dashboard", "--port", "8765"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "viz extra" in err and "pip install" in err


def test_dashboard_command_rejects_a_bad_port(capsys):
    from experiments.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["dashboard", "--port", "70000"])
    assert exc.value.code == 2
    assert "port" in capsys.readouterr().err
