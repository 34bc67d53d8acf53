"""English translation: the catalog is complete, and the language cookie switches the UI.

Chinese is the source language (LANGUAGE_CODE = "zh-hans"); English comes entirely from
crm/locale/en/LC_MESSAGES/django.po. After `crm makemessages -l en ...` every new or changed
string must be translated (and `crm compilemessages` run) before these tests pass.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

PO_PATH = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES" / "django.po"
KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")\s*$')
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc%]")


@dataclass
class PoEntry:
    line: int
    flags: set[str] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def msgid(self) -> str:
        return self.fields.get("msgid", "")

    @property
    def translations(self) -> list[str]:
        return [v for k, v in self.fields.items() if k.startswith("msgstr")]


def _unquote(text: str) -> str:
    # A .po string literal uses C escapes, which Python's string literal syntax understands.
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[PoEntry]:
    """The active (non-obsolete) entries of a .po file, header excluded."""
    entries: list[PoEntry] = []
    current: PoEntry | None = None
    last_key: str | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            # A blank line ends an entry; obsolete entries (#~) are ignored by msgfmt too.
            if current is not None and current.fields:
                entries.append(current)
                current = None
            last_key = None
            continue
        if current is None:
            current = PoEntry(line=number)
        if line.startswith("#,"):
            current.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
        elif line.startswith("#"):
            continue
        elif match := KEYWORD.match(line):
            key, value = match.groups()
            if key in ("msgctxt", "msgid") and any(k.startswith("msgstr") for k in current.fields):
                entries.append(current)  # next entry without a separating blank line
                current = PoEntry(line=number)
            current.fields[key] = _unquote(value)
            last_key = key
        elif line.startswith('"') and last_key is not None:
            current.fields[last_key] += _unquote(line)
        else:
            raise AssertionError(f"{path}:{number}: cannot parse {raw!r}")
    if current is not None and current.fields:
        entries.append(current)
    return [e for e in entries if e.msgid != ""]


@pytest.fixture(autouse=True)
def _restore_language():
    # LocaleMiddleware activates the request's language in this thread; do not leak it.
    yield
    translation.activate(settings.LANGUAGE_CODE)


def test_english_catalog_is_complete():
    entries = parse_po(PO_PATH)
    assert len(entries) > 500, "the English catalog looks truncated"
    fuzzy = [f"line {e.line}: {e.msgid}" for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, "fuzzy entries must be reviewed:\n" + "\n".join(fuzzy)
    untranslated = [
        f"line {e.line}: {e.msgid}"
        for e in entries
        if not e.translations or not all(e.translations)
    ]
    assert not untranslated, "untranslated entries:\n" + "\n".join(untranslated)
    plural_missing = [
        f"line {e.line}: {e.msgid}"
        for e in entries
        if "msgid_plural" in e.fields and not {"msgstr[0]", "msgstr[1]"} <= e.fields.keys()
    ]
    assert not plural_missing, "plural entries need both forms:\n" + "\n".join(plural_missing)


def test_english_placeholders_match_the_source():
    bad = []
    for e in parse_po(PO_PATH):
        if "python-format" not in e.flags:
            continue
        expected = sorted(PLACEHOLDER.findall(e.msgid))
        bad += [
            f"line {e.line}: {e.msgid} → {t}"
            for t in e.translations
            if sorted(PLACEHOLDER.findall(t)) != expected
        ]
    assert not bad, "placeholders differ:\n" + "\n".join(bad)


def test_compiled_catalog_is_used():
    # Fails when django.mo is missing or stale (run `crm compilemessages`).
    with translation.override("en"):
        assert translation.gettext("登录") == "Sign in"
        assert translation.gettext("公海") == "Public pool"


@pytest.mark.django_db
def test_login_page_in_english_with_language_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    # The cookie wins over the browser's Accept-Language.
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en"' in html
    assert "Sign in to your account" in html
    assert "Sign in" in html
    assert "Username" in html
    assert "Password" in html
    assert "登录您的账号" not in html
    assert "用户名" not in html


@pytest.mark.django_db
def test_login_page_in_chinese_by_default(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-CN"' in html
    assert "登录您的账号" in html
    assert "用户名" in html
    assert "Sign in to your account" not in html
    assert "Username" not in html
