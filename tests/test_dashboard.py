"""The teaching page: its rules without a browser, then the page in headless Chromium.

Browser tests need ``/usr/bin/chromium`` (``.ci/run`` installs it), a CJK font
(``fonts-noto-cjk``) and the ``viz`` and ``test`` extras; without them they
skip locally and FAIL in CI (``CI=true``).  One Solara server serves the whole
module.  Screenshots go to the test's tmp dir and, when ``KYOSO_ARTIFACTS`` is
set, are copied there.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from browser_support import CHROMIUM, CHROMIUM_ARGS, free_port, require_browser, solara_server
from experiments.dashboard import check_port, server_command, server_env
from experiments.dashboard.session import (
    KEY_METRICS,
    LEVER_SPECS,
    Run,
    Settings,
    compare_settings,
    levers,
    metrics_csv,
    parse_query,
    settings_query,
)
from experiments.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
SERVER_START_TIMEOUT = 60.0


# ================================================================ no browser
def test_levers_come_from_the_schema():
    lv = {x.path: x for x in levers("baseline")}
    assert set(lv) == {s.path for s in LEVER_SPECS}
    us = lv["governments.US.subsidy_rate"]
    assert (us.kind, us.low, us.high, us.unit, us.live, us.percent) == ("float", 0.0, 1.0, "share of capex", True, True)
    assert us.source.startswith("calibration_regions.csv")          # the government entry's own source
    assert lv["params.w_risk"].high == 20.0 and lv["params.w_risk"].source.startswith("sign: Head")
    assert not lv["params.w_risk"].live and lv["network.sources_per_input"].kind == "int"
    assert "governments.CN.subsidy_rate" not in {x.path for x in levers("symmetric")}   # no China there


def test_lever_rejects_bad_values_in_one_line():
    us = {x.path: x for x in levers("baseline")}["governments.US.subsidy_rate"]
    for bad, msg in ((1.5, r"expected a value in \[0, 1\], got 1.5"), ("abc", "expected a number"),
                     (float("nan"), "expected a number"), (True, "expected a number")):
        with pytest.raises(ValueError, match=msg):
            us.coerce(bad)
    switch = {x.path: x for x in levers("baseline")}["random_events.enabled"]
    assert switch.coerce("on") is True and switch.coerce("off") is False
    with pytest.raises(ValueError, match="expected on or off"):
        switch.coerce("maybe")


def test_link_reproduces_a_run_with_live_changes():
    """Overrides from the start and live changes mid-run: the link's run equals the original quarter by quarter."""
    a = Run(Settings("jk_cocreation", 3, {"params.w_risk": 10.0}))
    a.run_to(4)
    a.apply_live("governments.US.subsidy_rate", 0.3)
    a.apply_live("governments.US.subsidy_rate", 0.35)            # the same quarter: replaces the first
    a.run_to(9)
    a.apply_live("governments.KR.subsidy_rate", 0.2)
    a.run_to(16)
    query = settings_query(a.settings, lang="ja", quarter=a.quarter())
    assert "governments.US.subsidy_rate@2026Q2=0.35" in query and "0.3&" not in query
    parsed = parse_query(query)
    assert parsed.notices == [] and parsed.lang == "ja" and parsed.quarter == a.quarter()
    b = Run(parsed.settings)
    b.run_to(16)
    assert a.metrics().equals(b.metrics())
    plain = Run(Settings("jk_cocreation", 3, {"params.w_risk": 10.0}))
    plain.run_to(16)
    assert not plain.metrics().equals(a.metrics())               # the live changes did act
    gov = {g.code: g for g in a.model.world.policy.governments}
    assert a.current("governments.KR.subsidy_rate") == pytest.approx(gov["KR"].subsidy_rate)


def test_live_change_acts_from_the_next_quarter():
    a = Run(Settings("baseline", 1))
    a.run_to(3)
    us = next(g for g in a.model.world.policy.governments if g.code == "US")
    before = us.subsidy_rate
    change = a.apply_live("governments.US.subsidy_rate", 0.6)
    assert change.quarter == a.quarter(4) and us.subsidy_rate == before      # not yet
    a.step()
    assert us.subsidy_rate == pytest.approx(0.6)
    with pytest.raises(ValueError, match="not a lever that acts during a run"):
        a.apply_live("params.w_risk", 3.0)


@pytest.mark.parametrize("query, fragment", [
    ("scenario=nope", "scenario=nope: unknown scenario"),
    ("seed=-4", "seed=-4: expected a whole number"),
    ("lang=fr", "lang=fr: expected en, ja or ko"),
    ("governments.US.subsidy_rate=2", "governments.US.subsidy_rate=2: expected a value in [0, 1], got 2"),
    ("governments.US.subsidy_rate=abc", "expected a number"),
    ("params.nope=1", "params.nope=1: not a control of this page"),
    ("quarter=2099Q1", "quarter=2099Q1: expected a quarter from 2025Q1"),
    ("params.w_risk@2026Q1=3", "params.w_risk cannot change during a run"),
    ("governments.US.subsidy_rate@1999Q1=0.2", "quarter 1999Q1 is not inside the run"),
    ("compare=bogus", "compare=bogus: expected without or a scenario name"),
])
def test_bad_link_entries_are_ignored_with_a_notice(query, fragment):
    parsed = parse_query(f"seed=2&{query}")
    assert len(parsed.notices) == 1 and fragment in parsed.notices[0]
    assert "\n" not in parsed.notices[0]
    Run(parsed.settings)                                          # what is left still builds


def test_compare_settings_and_csv():
    a = Settings("jk_cocreation", 5, {"governments.US.subsidy_rate": 0.2})
    assert compare_settings(a, "") is None
    assert compare_settings(a, "without") == Settings("jk_cocreation", 5)
    b = compare_settings(a, "status_quo")
    assert (b.scenario, b.seed, b.overrides) == ("status_quo", 5, {"governments.US.subsidy_rate": 0.2})
    ra, rb = Run(a), Run(Settings("jk_cocreation", 5))
    ra.run_to(3)
    rb.run_to(3)
    rows = list(csv.DictReader(io.StringIO(metrics_csv(ra, rb))))
    assert len(rows) == 8 and [r["run"] for r in rows].count("B") == 4
    assert {"run", "scenario", "seed", "step", "quarter", *KEY_METRICS} <= set(rows[0])


def test_busy_port_is_a_one_line_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(UserError, match=rf"port {port} on 127.0.0.1 is already in use") as exc:
            check_port("127.0.0.1", port)
        assert "\n" not in str(exc.value) and "--port" in str(exc.value)
    with pytest.raises(UserError, match="--host no.such.host.invalid: not an address"):
        check_port("no.such.host.invalid", 8765)


def test_server_environment():
    env = server_env({"PYTHONWARNINGS": "default"})
    assert env["SOLARA_THEME_TITLE"] == "kyoso" and env["SOLARA_THEME_SHOW_BANNER"] == "False"
    assert Path(env["SOLARA_ASSETS_EXTRA_LOCATIONS"], "favicon.png").is_file()
    assert env["PYTHONWARNINGS"].startswith("default,ignore:Cookies with samesite=none")
    assert server_command("0.0.0.0", 9000)[-7:] == ["--host", "0.0.0.0", "--port", "9000", "--production",
                                                     "--no-open", "--no-check-version"]


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


# ================================================================== browser
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser("dashboard test")
    logdir = tmp_path_factory.mktemp("solara")
    port = free_port()
    with solara_server(server_command("127.0.0.1", port), server_env(), logdir / "solara.log", port,
                       SERVER_START_TIMEOUT) as url:
        yield url
    text = (logdir / "solara.log").read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    assert "samesite" not in text, "the cookie warning is not silenced"


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _open(browser, url: str, width: int = 1440, height: int = 1000):
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, timeout=30_000)
    expect(page.get_by_test_id("quarter")).to_be_visible(timeout=40_000)
    page.wait_for_timeout(300)
    page.errors = errors            # type: ignore[attr-defined]
    return page


def _shot(page, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("KYOSO_ARTIFACTS"):
        dest = Path(os.environ["KYOSO_ARTIFACTS"])
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, dest / name)
    return shot


def _key_numbers(page) -> dict[str, str]:
    cells = page.locator("[data-metric]")
    return {c.get_attribute("data-metric"): c.inner_text() for c in cells.all()}


def _step(page, times: int) -> None:
    from playwright.sync_api import expect

    quarter = page.get_by_test_id("quarter")
    step = page.get_by_role("button", name=re.compile(r"^(Step|1期進める|한 분기 진행)$"))
    for _ in range(times):
        before = quarter.inner_text()
        step.click()
        expect(quarter).not_to_have_text(before, timeout=15_000)


@pytest.mark.slow           # a browser and a Solara server: ~10 s each on 2 shared cores
def test_controls_show_values_and_units(server, browser, tmp_path):
    from playwright.sync_api import expect

    page = _open(browser, server)
    assert page.title().startswith("kyoso")
    heads = page.locator("[data-lever]")
    assert heads.count() == len(LEVER_SPECS)
    values = page.locator(".kyoso-value").all_inner_texts()
    assert len(values) == len(LEVER_SPECS)
    assert values[:5] == ["35 % of capex", "0 % of capex", "10 % of capex", "0 % of capex", "25 % of capex"]
    assert all(re.search(r"\d|^(on|off)$", v) for v in values), values
    assert all(("(" in v or "%" in v or "suppliers" in v) for v in values if v not in ("on", "off")), values
    for label in ("Play", "Step", "Reset"):
        expect(page.get_by_role("button", name=label, exact=True)).to_be_visible()
    assert page.get_by_text("Use Threads").count() == 0 and page.get_by_text("This website runs on").count() == 0
    assert page.get_by_text("applies at once (the run has not started)").count() == len(LEVER_SPECS)
    # a tooltip with the long description, unit and source
    page.get_by_text("US: subsidy rate ⓘ").hover()
    expect(page.get_by_text(re.compile("Source: calibration_regions.csv \\(US\\)"))).to_be_visible(timeout=5_000)
    _step(page, 2)
    assert page.get_by_text("applies from the next quarter").count() == 5      # the five subsidy rates
    assert page.get_by_text("press Reset to apply").count() == len(LEVER_SPECS) - 5
    assert _shot(page, tmp_path, "dashboard_en.png").stat().st_size > 50_000
    assert not page.errors


@pytest.mark.slow           # a browser and a Solara server: ~10 s each on 2 shared cores
@pytest.mark.parametrize("lang, words", [("ja", ("再生", "1期進める", "リセット", "日本: 補助率", "投資額の 35 %")),
                                         ("ko", ("재생", "한 분기 진행", "초기화", "일본: 보조금 비율", "투자액의 35%"))])
def test_page_in_japanese_and_korean(server, browser, tmp_path, lang, words):
    from experiments.dashboard.i18n import catalogue

    page = _open(browser, f"{server}?lang={lang}")
    body = page.locator("body").inner_text()
    for w in words:
        assert w in body, f"{w!r} not on the {lang} page"
    en = catalogue("en")
    english_left = [en[k] for k in ("ui.play", "ui.step", "ui.reset", "ui.controls", "ui.compare", "ui.export",
                                    "ui.what_shows", "ui.what_look", "chart.map.shows", "lever.us_subsidy.short",
                                    "scenario.baseline.name", "ui.copy_link", "ui.export_csv")
                    if re.search(rf"(?<![\w]){re.escape(en[k])}(?![\w])", body)]
    assert not english_left, f"English left on the {lang} page: {english_left}"
    _shot(page, tmp_path, f"dashboard_{lang}.png")
    assert not page.errors


@pytest.mark.slow           # a browser and a Solara server: ~10 s each on 2 shared cores
def test_shared_link_reproduces_the_run(server, browser, tmp_path):
    page = _open(browser, f"{server}?scenario=jk_cocreation&seed=3&governments.US.subsidy_rate=0.2")
    assert "20 % of capex" in page.locator("[data-lever='governments.US.subsidy_rate']").inner_text()
    _step(page, 3)
    # a live change during the run, then two more quarters
    slider = page.locator(".kyoso-lever").filter(has=page.locator("[data-lever='governments.KR.subsidy_rate']"))
    slider.locator(".v-slider").click()                              # the middle of the slider: 50 %
    page.wait_for_timeout(500)
    _step(page, 2)
    link = page.get_by_test_id("share-link").input_value()
    assert "governments.KR.subsidy_rate@2026Q1=0.5" in link and "quarter=2026Q2" in link, link
    numbers = _key_numbers(page)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Metrics (CSV)").click()
    first_csv = Path(dl.value.path()).read_text()
    again = _open(browser, link)
    assert again.get_by_test_id("quarter").inner_text() == "Quarter 2026Q2"
    assert _key_numbers(again) == numbers
    with again.expect_download() as dl2:
        again.get_by_role("button", name="Metrics (CSV)").click()
    assert Path(dl2.value.path()).read_text() == first_csv
    assert dl2.value.suggested_filename.endswith(".csv") and first_csv.count("\n") == 7   # header + quarters 0–5


@pytest.mark.slow           # a browser and a Solara server: ~10 s each on 2 shared cores
def test_bad_link_shows_a_notice(server, browser):
    page = _open(browser, f"{server}?seed=abc&governments.US.subsidy_rate=7")
    body = page.locator("body").inner_text()
    assert "seed=abc: expected a whole number" in body and "got 7" in body
    assert "10 % of capex" in page.locator("[data-lever='governments.US.subsidy_rate']").inner_text()


@pytest.mark.slow           # a browser and a Solara server: ~10 s each on 2 shared cores
def test_compare_mode_and_png_export(server, browser, tmp_path):
    page = _open(browser, f"{server}?scenario=taiwan_contingency&compare=status_quo&seed=1&quarter=2027Q4")
    assert page.locator("[data-metric-b]").count() == len(KEY_METRICS)
    assert page.locator(".kyoso-up, .kyoso-down").count() >= 1           # the difference is highlighted
    assert page.locator(".kyoso-chart img").count() == 6                  # two maps side by side, four charts
    _step(page, 1)
    assert page.get_by_test_id("quarter").inner_text() == "Quarter 2028Q1"
    with page.expect_download() as dl:
        page.get_by_role("button", name="Chart (PNG)").nth(2).click()
    data = Path(dl.value.path()).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    with page.expect_download() as dl:
        page.get_by_role("button", name="Metrics (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert {r["run"] for r in rows} == {"A", "B"} and {r["scenario"] for r in rows} == {"taiwan_contingency",
                                                                                       "status_quo"}
    _shot(page, tmp_path, "dashboard_compare.png")


@pytest.mark.slow           # a browser and a Solara server: ~10 s each on 2 shared cores
def test_narrow_screen_stacks_the_controls(server, browser, tmp_path):
    page = _open(browser, server, width=800, height=1000)
    side = page.locator(".kyoso-side").bounding_box()
    main = page.locator(".kyoso-main").bounding_box()
    assert side["width"] > 700 and main["y"] > side["y"] + side["height"] - 1
    assert main["width"] > 700
    _shot(page, tmp_path, "dashboard_800.png")
