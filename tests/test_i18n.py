"""The teaching page's translations (experiments/dashboard/i18n/*.toml): complete, consistent, used.

English is the reference: a key missing in Japanese or Korean fails, and so
does a key the page uses that English lacks.  No browser needed.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from experiments.dashboard import i18n
from experiments.dashboard.i18n import LANGS, catalogue, missing_keys, parse_lang, stray_keys, t

ROOT = Path(__file__).resolve().parents[1]
PAGE_FILES = [ROOT / "experiments" / "dashboard" / f for f in ("app.py", "charts.py")]
#: Strings that are the same in every language (symbols, abbreviations).
SAME_EVERYWHERE = {"ui.run_a", "ui.run_b", "ui.difference", "country.EU", "classroom.unit.pct"}
CLASSROOM_PAGE = ROOT / "experiments" / "dashboard" / "classroom_page.py"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_every_english_key_is_translated(lang):
    assert missing_keys(lang) == [], f"{lang}.toml lacks: {missing_keys(lang)}"
    assert stray_keys(lang) == [], f"{lang}.toml has keys English lacks (typo?): {stray_keys(lang)}"


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_placeholders_match_english(lang):
    en, other = catalogue("en"), catalogue(lang)
    bad = {k: (en[k], other[k]) for k in en if k in other and _fields(en[k]) != _fields(other[k])}
    assert not bad, f"{lang}: placeholders differ from English: {bad}"


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_translations_are_not_english_left_over(lang):
    en, other = catalogue("en"), catalogue(lang)
    same = [k for k in en if k not in SAME_EVERYWHERE and other.get(k) == en[k]]
    assert not same, f"{lang}: left in English: {same}"
    script = {"ja": r"[\u3040-\u30ff\u4e00-\u9fff]", "ko": r"[\uac00-\ud7af]"}[lang]
    latin_only = [k for k, v in other.items() if k not in SAME_EVERYWHERE and not re.search(script, v)
                  and re.search(r"[A-Za-z]{4,}", v)]
    assert not latin_only, f"{lang}: strings without {lang} script: {latin_only}"


def _keys_used_by_page() -> set[str]:
    """Literal t("…") keys in the page's source, and the keys built from the page's tables."""
    from experiments.dashboard.app import UNIT_KEYS
    from experiments.dashboard.charts import CHARTS
    from experiments.dashboard.session import KEY_METRICS, LEVER_SPECS, SCENARIOS, levers

    keys: set[str] = set()
    for path in PAGE_FILES:
        keys |= set(re.findall(r"""\bt\(\s*["']([a-z_]+(?:\.[A-Za-z_]+)+)["']""", path.read_text(encoding="utf-8")))
    keys |= {f"lever.{s.id}.{part}" for s in LEVER_SPECS for part in ("short", "long")}
    keys |= {f"chart.{c}.{part}" for c in CHARTS for part in ("title", "shows", "look")}
    keys |= {f"scenario.{n}.name" for n in SCENARIOS}
    keys |= {f"metric.{m}" for m in KEY_METRICS}
    keys |= set(UNIT_KEYS.values())
    keys |= {f"country.{c}" for c in ("JP", "KR", "TW", "US", "CN", "EU")}
    # every schema unit a lever shows has a translated form
    for name in SCENARIOS:
        for lv in levers(name):
            if lv.kind != "bool":
                assert lv.unit in UNIT_KEYS, f"lever {lv.path}: unit {lv.unit!r} has no entry in app.UNIT_KEYS"
    return keys


def test_every_key_the_page_uses_exists_in_english():
    used = _keys_used_by_page()
    assert len(used) > 60
    missing = sorted(k for k in used if k not in catalogue("en"))
    assert not missing, f"en.toml lacks keys the page uses: {missing}"


def _keys_used_by_classroom() -> set[str]:
    """Literal tr("…") keys of the classroom page, and the keys it builds: instruments' labels and tooltips, the
    measures and units of a team's results and of the debrief (from a real game), the governments' names."""
    from experiments.classroom import EXPORT_CONTROL, INSTRUMENTS, Registry
    from experiments.dashboard.classroom_page import text_key

    source = CLASSROOM_PAGE.read_text(encoding="utf-8")
    keys = {f"classroom.{k}" for k in re.findall(r"""\btr\(\s*["']([a-z_]+)["']""", source)}
    keys |= {"classroom.game_line", "classroom.game_over_line"}          # chosen by a conditional
    keys |= {f"classroom.instrument.{n}" for n in INSTRUMENTS}
    keys |= {f"classroom.help.{n}" for n in [*INSTRUMENTS, "export_controls"]}
    keys |= {f"classroom.unit.{text_key(i.unit)}" for i in [*INSTRUMENTS.values(), EXPORT_CONTROL]}
    game, teacher = Registry().create("jk_cocreation", 0, 1)
    token = game.join("Alpha", "JP")
    game.advance(teacher)
    for measure, unit, _ in game.results(token)["measures"]:
        keys |= {f"classroom.measure.{text_key(measure)}", f"classroom.unit.{text_key(unit)}"}
    debrief = game.end(teacher)
    for frame in (debrief.countries, debrief.world):
        keys |= {f"classroom.measure.{text_key(m)}" for m in frame["measure"]}
        keys |= {f"classroom.unit.{text_key(u)}" for u in frame["unit"]}
    keys |= {f"country.{c}" for c in game.roles}
    return keys


def test_every_key_the_classroom_uses_exists_in_english():
    """With the general checks above, this makes a classroom string missing in any language fail."""
    used = _keys_used_by_classroom()
    assert len(used) > 120
    missing = sorted(k for k in used if k not in catalogue("en"))
    assert not missing, f"en.toml lacks keys the classroom page uses: {missing}"
    unused = sorted(k for k in catalogue("en") if k.startswith("classroom.") and k not in used)
    assert not unused, f"en.toml has classroom keys the page no longer uses: {unused}"


def test_classroom_page_speaks_the_chosen_language():
    from experiments.dashboard.classroom_page import parse_address, text_key, tr

    assert tr("open_game", "ja") == "ゲームを開く" and tr("open_game", "ko") == "게임 열기"
    assert tr("advance", "ko", year=2, first="2026Q2", last="2027Q1") == "2년째 진행(2026Q2–2027Q1)"
    assert text_key("%, mean over the game") == "pct_mean_over_the_game"
    assert text_key("× base price") == "x_base_price"
    assert parse_address("?lang=ko&game=ab-cde") == ("ko", "ab-cde")
    assert parse_address("lang=fr") == ("en", None) and parse_address(None) == ("en", None)


def test_missing_classroom_key_is_caught(tmp_path, monkeypatch):
    """A Korean file without one classroom string is reported; the page shows English there, never crashes."""
    from experiments.dashboard.classroom_page import tr

    text = (i18n.I18N_DIR / "ko.toml").read_text(encoding="utf-8")
    line = 'advance = "{year}년째 진행({first}–{last})"\n'
    assert text.count(line) == 1
    (tmp_path / "ko.toml").write_text(text.replace(line, ""), encoding="utf-8")
    (tmp_path / "en.toml").write_text((i18n.I18N_DIR / "en.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(i18n, "I18N_DIR", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        assert missing_keys("ko") == ["classroom.advance"]
        assert tr("advance", "ko", year=1, first="a", last="b") == "Run year 1 (a–b)"
    finally:
        i18n.catalogue.cache_clear()


def test_missing_key_is_caught(tmp_path, monkeypatch):
    """The check itself: a Japanese file without one key is reported."""
    text = (i18n.I18N_DIR / "ja.toml").read_text(encoding="utf-8").replace('play = "再生"\n', "")
    (tmp_path / "ja.toml").write_text(text, encoding="utf-8")
    (tmp_path / "en.toml").write_text((i18n.I18N_DIR / "en.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(i18n, "I18N_DIR", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        assert missing_keys("ja") == ["ui.play"]
        assert t("ui.play", "ja") == "Play"          # falls back to English, never crashes
    finally:
        i18n.catalogue.cache_clear()


def test_lookup_fills_fields_and_marks_unknown_keys():
    assert t("ui.quarter", "en", quarter="2026Q1") == "Quarter 2026Q1"
    assert "2026Q1" in t("ui.quarter", "ja", quarter="2026Q1")
    assert t("ui.no_such_key", "ko") == "⟨ui.no_such_key⟩"


def test_bad_language_and_bad_file(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="language 'fr': expected one of en, ja, ko"):
        catalogue("fr")
    assert parse_lang("JA") == "ja" and parse_lang("ko-KR") == "ko" and parse_lang("fr") is None
    (tmp_path / "en.toml").write_text('[ui]\nplay = "Play\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "I18N_DIR", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        with pytest.raises(ValueError, match="not valid TOML"):
            catalogue("en")
    finally:
        i18n.catalogue.cache_clear()
