"""The teaching page in headless Chromium: Step time and a 64-quarter Play (issue #13: ≤ 0.5 s, ≤ 30 s).

    python benchmarks/bench_dashboard.py [--steps 20] [--scenario baseline] [--screenshots docs/figures]

Starts the page exactly as ``kyoso dashboard`` does (``experiments.dashboard.server_command`` /
``server_env``) on a free port, opens it in Debian's Chromium with Playwright and measures, from the
click to the new quarter on screen:

* **Step**: ``--steps`` clicks on Step; median, quartiles and maximum (the first Step is reported apart:
  it draws the charts' static layers once);
* **Play**: Reset, then Play until the last quarter of the horizon is shown (64 quarters in the baseline).

``--screenshots DIR`` also saves the README pictures: ``dashboard_en.png`` and ``dashboard_ja.png`` at
1440×1000 and ``dashboard_800.png`` 800 px wide.  Other processes on the machine slow every figure
down: report the load average printed with the result.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments.dashboard import server_command, server_env  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(server_command("127.0.0.1", port), cwd=ROOT, env=server_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGTERM)
    raise SystemExit(f"solara did not answer on {url}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20, help="Step clicks to time (default 20)")
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--screenshots", type=Path, default=None, metavar="DIR", help="save the README screenshots here")
    args = ap.parse_args(argv)
    from playwright.sync_api import expect, sync_playwright

    proc, url = _start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(f"{url}?scenario={args.scenario}")
            quarter = page.get_by_test_id("quarter")
            expect(quarter).to_be_visible(timeout=60_000)
            step = page.get_by_role("button", name="Step", exact=True)
            times = []
            for _ in range(args.steps + 1):
                before = quarter.inner_text()
                t0 = time.perf_counter()
                step.click()
                expect(quarter).not_to_have_text(before, timeout=30_000)
                times.append(time.perf_counter() - t0)
            first, rest = times[0], sorted(times[1:])
            q = statistics.quantiles(rest, n=4)
            page.get_by_role("button", name="Reset", exact=True).click()
            expect(quarter).to_have_text(quarter.inner_text(), timeout=10_000)
            page.wait_for_timeout(500)
            t0 = time.perf_counter()
            page.get_by_role("button", name="Play", exact=True).click()
            expect(page.get_by_text("End of the run")).to_be_visible(timeout=300_000)
            play = time.perf_counter() - t0
            last = quarter.inner_text()
            load = os.getloadavg()
            print(f"scenario {args.scenario}: first Step {first:.2f} s; Step over {args.steps} clicks: median "
                  f"{statistics.median(rest):.3f} s (quartiles {q[0]:.3f}–{q[2]:.3f}, max {rest[-1]:.3f}); "
                  f"Play to the end ({last}): {play:.1f} s; load average {load[0]:.1f} on {os.cpu_count()} cores")
            if args.screenshots:
                out = args.screenshots
                out.mkdir(parents=True, exist_ok=True)
                for lang, width, name in (("en", 1440, "dashboard_en.png"), ("ja", 1440, "dashboard_ja.png"),
                                          ("en", 800, "dashboard_800.png")):
                    shot = browser.new_page(viewport={"width": width, "height": 1000})
                    shot.goto(f"{url}?scenario=jk_cocreation&seed=1&lang={lang}&quarter=2030Q1"
                              "&governments.KR.subsidy_rate=0.2")
                    expect(shot.get_by_test_id("quarter")).to_be_visible(timeout=60_000)
                    shot.wait_for_timeout(800)
                    shot.screenshot(path=str(out / name))
                    shot.close()
                print(f"screenshots in {out}")
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
