"""Translations of the teaching page: one TOML file per language in ``i18n/``.

A teacher corrects a translation by editing ``i18n/ja.toml`` (or ``ko.toml``,
``en.toml``): plain TOML (stdlib :mod:`tomllib`, no extra library), tables
for the parts of the page (``[ui]``, ``[lever.us_subsidy]``, ``[chart.map]``,
``[scenario.baseline]``, ``[country]`` …).  Keys are the dotted names of the
nested tables (``lever.us_subsidy.short``).  English is the reference: every
key in ``en.toml`` must exist in every other language and no language may
carry a key English lacks (``tests/test_i18n.py``); :func:`t` falls back to
English only so that a half-finished file never crashes a lesson.

Why TOML and not gettext ``.po``: the page has a few hundred short strings
keyed by meaning, a teacher can read and fix a TOML file in any editor, and
the project already reads TOML with the standard library; gettext would add
a compile step (``.mo``) for no gain here.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["LANGS", "DEFAULT_LANG", "I18N_DIR", "catalogue", "t", "has", "missing_keys", "stray_keys",
           "parse_lang", "flatten"]

I18N_DIR = Path(__file__).resolve().parent / "i18n"
#: Languages of the page, in the order of the language picker.
LANGS: tuple[str, ...] = ("en", "ja", "ko")
DEFAULT_LANG = "en"


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested TOML tables as one dict of dotted keys (``{"ui": {"play": "Play"}}`` → ``{"ui.play": "Play"}``)."""
    out: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, str):
            out[name] = value
        else:
            raise ValueError(f"i18n: {name} = {value!r}: expected text in quotes")
    return out


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """Every string of one language, by dotted key (read once per process)."""
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: expected one of {', '.join(LANGS)}")
    path = I18N_DIR / f"{lang}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"i18n file {path}: not valid TOML ({exc})") from None
    return flatten(data)


def has(key: str, lang: str = DEFAULT_LANG) -> bool:
    """Whether ``lang`` has its own string for ``key``."""
    return key in catalogue(lang)


def t(key: str, lang: str = DEFAULT_LANG, **values: Any) -> str:
    """The string for ``key`` in ``lang`` with ``{name}`` fields filled in.

    A key missing in ``lang`` falls back to English (the test suite reports it);
    a key missing in English too is shown as ``⟨key⟩`` so it is seen, never a crash."""
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANG).get(key)
    if text is None:
        return f"⟨{key}⟩"
    return text.format(**values) if values else text


def missing_keys(lang: str) -> list[str]:
    """Keys English has that ``lang`` lacks."""
    own = catalogue(lang)
    return sorted(k for k in catalogue(DEFAULT_LANG) if k not in own)


def stray_keys(lang: str) -> list[str]:
    """Keys ``lang`` has that English lacks (a typo in a key, or a string the page no longer uses)."""
    ref = catalogue(DEFAULT_LANG)
    return sorted(k for k in catalogue(lang) if k not in ref)


def parse_lang(value: str | None) -> str | None:
    """A language code from a URL (``ja``, ``JA``, ``ja-JP``), or None if it names none of :data:`LANGS`."""
    if not value:
        return None
    code = value.strip().lower().split("-")[0].split("_")[0]
    return code if code in LANGS else None
