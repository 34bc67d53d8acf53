"""Search keys: how a name, a phone, an email or a credit code becomes index tokens,
and how a query becomes an index expression. Pure functions, unit-tested.

Tokens (space separated, lower case, ASCII letters/digits or CJK):
* CJK text: every character and every pair of neighbouring characters (华为技术 → 华 为 技 术
  华为 为技 技术), so any fragment of two or more characters is an AND of its pairs;
* pinyin of CJK text: the full pinyin from every syllable on (wangjianguo jianguo guo) and the
  initials from every syllable on (wjg jg g), searched by prefix: "wangj", "jianguo", "wjg";
* Latin words and numbers in names as they are (searched by prefix);
* phones: the national number (prefix search) and "p" + each suffix of 4+ digits (last digits);
* emails: "e" + the address without punctuation (prefix search);
* credit codes: the 18 characters (prefix search).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers
from pypinyin import lazy_pinyin

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
WORD = re.compile(r"[a-z0-9]+")
MAX_SYLLABLES = 24
PINYIN_SPAN = 8
INITIALS_SPAN = 16


def normalize(text: str) -> str:
    """Full-width → half-width (NFKC), lower case, trimmed."""
    return unicodedata.normalize("NFKC", text or "").lower().strip()


def pinyin_syllables(run: str) -> list[str]:
    """The pinyin syllables of a run of CJK characters (at most MAX_SYLLABLES of them)."""
    return list(_pinyin_cached(run[:MAX_SYLLABLES]))


@lru_cache(maxsize=65536)
def _pinyin_cached(run: str) -> tuple[str, ...]:
    # Person names, cities and company-name words repeat: an import or a reindex of many
    # records converts each distinct run once (pypinyin's phrase matching is the slow part).
    return tuple(s.lower() for s in lazy_pinyin(run) if s)


def pinyin_tokens(syllables: list[str]) -> list[str]:
    """Full pinyin and initials from every syllable on. Callers that already know a run's
    syllables (the benchmark seeder caches them per word) use this directly."""
    syllables = syllables[:MAX_SYLLABLES]
    initials = [s[:1] for s in syllables]
    out = []
    # Capped lengths: nobody types more than ~8 syllables of pinyin, and long company names
    # would otherwise make the index several times larger.
    for i in range(len(syllables)):
        out.append("".join(syllables[i : i + PINYIN_SPAN]))
        out.append("".join(initials[i : i + INITIALS_SPAN]))
    return out


def text_tokens(text: str) -> list[str]:
    """Tokens of a name (company or person)."""
    norm = normalize(text)
    tokens: list[str] = []
    for run in CJK_RUN.findall(norm):
        tokens.extend(run)
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        tokens.extend(pinyin_tokens(pinyin_syllables(run)))
    tokens.extend(WORD.findall(norm))
    return tokens


@lru_cache(maxsize=65536)
def phone_digits(phone: str) -> str:
    """National digits as people type them: +86 138-1234-5678 → 13812345678,
    +861012345678 → 01012345678 (landline with its trunk 0). An extension is not part of
    the number (its digits would shift every "last digits" token)."""
    text = normalize(phone).split(";ext=", 1)[0]
    if text.startswith("+86"):
        try:
            number = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            pass
        else:
            national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            return "".join(c for c in national if c.isdigit())
    digits = "".join(c for c in text if c.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if digits.startswith("0086"):
        digits = digits[4:]
    return digits


def phone_tokens(phone: str) -> list[str]:
    digits = phone_digits(phone)
    if len(digits) < 4:
        return []
    tokens = [digits]
    tokens.extend("p" + digits[-n:] for n in range(4, len(digits) + 1))
    return tokens


def email_tokens(email: str) -> list[str]:
    norm = normalize(email)
    if "@" not in norm:
        return []
    local = norm.split("@", 1)[0]
    return ["e" + re.sub(r"[^a-z0-9]", "", norm), *WORD.findall(local)]


def code_tokens(code: str) -> list[str]:
    norm = re.sub(r"[^a-z0-9]", "", normalize(code))
    return [norm] if norm else []


@dataclass
class SearchDoc:
    title: str
    subtitle: str = ""
    names: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    def tokens(self) -> str:
        out: list[str] = []
        for name in self.names:
            out.extend(text_tokens(name))
        for phone in self.phones:
            out.extend(phone_tokens(phone))
        for email in self.emails:
            out.extend(email_tokens(email))
        for code in self.codes:
            out.extend(code_tokens(code))
        seen: dict[str, None] = {}
        for t in out:
            if t and t not in seen:
                seen[t] = None
        return " ".join(seen)


@dataclass(frozen=True)
class QueryTerm:
    """One word of the query as groups: every group must match; any alternative of a group."""

    groups: tuple[tuple[tuple[str, bool], ...], ...]  # ((token, is_prefix), ...) per group


# A phone number typed with separators ("138 1234 5678", "010-1234 5678", "+86 138…"):
# searched as one number, not as three unrelated numbers.
PHONE_LIKE = re.compile(r"(?<![a-z0-9])\+?\d[\d\s\-()]{5,}\d(?![a-z0-9])")


def _phone_query(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = "".join(c for c in text if c.isdigit())
    if digits.startswith("0086"):
        digits = digits[4:]
    elif text.startswith("+86") or (digits.startswith("86") and len(digits) == 13):
        digits = digits[2:]
    return f" {digits} "


def query_terms(q: str) -> list[QueryTerm]:
    terms: list[QueryTerm] = []
    for word in PHONE_LIKE.sub(_phone_query, normalize(q)).split()[:8]:
        groups: list[tuple[tuple[str, bool], ...]] = []
        if "@" in word:
            key = "e" + re.sub(r"[^a-z0-9]", "", word)
            if len(key) > 1:
                groups.append(((key, True),))
        elif word.isdigit():
            if len(word) >= 4:
                groups.append(((f"p{word}", False), (word, True)))
            else:
                groups.append(((word, True),))
        else:
            for run in CJK_RUN.findall(word):
                if len(run) == 1:
                    groups.append(((run, False),))
                else:
                    for i in range(len(run) - 1):
                        groups.append(((run[i : i + 2], False),))
            rest = CJK_RUN.sub(" ", word)
            for part in WORD.findall(rest):
                groups.append(((part, True),))
        if groups:
            terms.append(QueryTerm(tuple(dict.fromkeys(groups))))
    return terms


def fts5_expression(terms: list[QueryTerm]) -> str:
    """SQLite FTS5 MATCH expression. Tokens are [a-z0-9] or CJK only, so quoting is safe."""
    parts = []
    for term in terms:
        for group in term.groups:
            alts = [f'"{tok}"' + ("*" if prefix else "") for tok, prefix in group]
            parts.append(alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")")
    return " AND ".join(parts)


def tsquery_expression(terms: list[QueryTerm]) -> str:
    """PostgreSQL to_tsquery('simple', …) expression for the same terms."""
    parts = []
    for term in terms:
        for group in term.groups:
            alts = [tok + (":*" if prefix else "") for tok, prefix in group]
            parts.append(alts[0] if len(alts) == 1 else "(" + " | ".join(alts) + ")")
    return " & ".join(parts)
