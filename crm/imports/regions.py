"""Province and city names as the CRM stores them (北京, 广东 / 深圳), from what people type
(北京市, 广东省深圳市, 深圳, 延边朝鲜族自治州 …).

Reference data: the NBS 2023 division tables in crm/imports/data (see SOURCE.md), plus Hong
Kong, Macao and Taiwan, which the tables leave out. Stored forms drop 省 / 市 / 自治区 /
地区 and the ethnic part of an autonomous prefecture (延边朝鲜族自治州 → 延边), like the
province list of the customer forms.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.utils.translation import gettext as _

DATA = Path(__file__).resolve().parent / "data"

PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
# Ethnic names in autonomous prefecture names, to find where the place name ends.
ETHNIC = (
    "朝鲜", "土家", "苗", "侗", "布依", "藏", "羌", "彝", "傣", "景颇", "傈僳", "白", "哈尼",
    "壮", "回", "蒙古", "哈萨克", "柯尔克孜",
)  # fmt: skip
EXTRA_PROVINCES = {"香港": "香港特别行政区", "澳门": "澳门特别行政区", "台湾": "台湾省"}
MUNICIPALITIES = ("北京", "天津", "上海", "重庆")


def province_short(full: str) -> str:
    for suffix in PROVINCE_SUFFIXES:
        if full.endswith(suffix) and len(full) > len(suffix):
            return full[: -len(suffix)]
    return full


def city_short(full: str) -> str:
    if full.endswith("自治州"):
        base = full[: -len("自治州")]
        cut = [i for i in (base.find(e) for e in ETHNIC) if i >= 2]
        return base[: min(cut)] if cut else base
    for suffix in ("地区", "市"):
        if full.endswith(suffix) and len(full) > len(suffix) + 1:
            return full[: -len(suffix)]
    return full


@dataclass
class _Tables:
    # every written form of a province → its stored form
    provinces: dict[str, str] = field(default_factory=dict)
    # every written form of a city → (province, city) stored forms
    cities: dict[str, tuple[str, str]] = field(default_factory=dict)
    longest: int = 0  # the longest written form


@cache
def tables() -> _Tables:
    t = _Tables()
    by_code: dict[str, str] = {}
    with open(DATA / "cn_divisions_provinces.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            short = province_short(row["name"])
            by_code[row["code"]] = short
            t.provinces[row["name"]] = short
            t.provinces[short] = short
    for short, full in EXTRA_PROVINCES.items():
        t.provinces[full] = short
        t.provinces[short] = short
        t.cities.setdefault(short, (short, short))
    # 内蒙古自治区 is also written 内蒙; 广西壮族自治区 as 广西自治区.
    for alias, short in (("内蒙", "内蒙古"), ("广西自治区", "广西"), ("宁夏自治区", "宁夏")):
        t.provinces.setdefault(alias, short)
    for short in MUNICIPALITIES:
        t.cities[short] = (short, short)
        t.cities[f"{short}市"] = (short, short)
    with open(DATA / "cn_divisions_cities.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = row["name"]
            province = by_code.get(row["provinceCode"], "")
            if name in ("市辖区", "县") or "直辖" in name:
                continue
            short = city_short(name)
            t.cities.setdefault(name, (province, short))
            t.cities.setdefault(short, (province, short))
    # County-level cities people use as "the city" (昆山, 义乌, 济源 …): a lower priority
    # than prefectures, so a prefecture never loses its name to a county.
    with open(DATA / "cn_divisions_areas.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = row["name"]
            if not (name.endswith("市") or row["cityCode"].endswith("90")):
                continue
            province = by_code.get(row["provinceCode"], "")
            short = city_short(name)
            t.cities.setdefault(name, (province, short))
            if len(short) >= 2:
                t.cities.setdefault(short, (province, short))
    t.longest = max(len(f) for f in [*t.provinces, *t.cities])
    return t


def _longest_prefix(text: str, forms: Mapping[str, object], longest: int, shortest: int = 1) -> str:
    for size in range(min(len(text), longest), shortest - 1, -1):
        if text[:size] in forms:
            return text[:size]
    return ""


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def split_region(text: str) -> tuple[str, str, str]:
    """(province, city, rest) from the start of `text` ("广东省深圳市南山区…")."""
    t = tables()
    text = _norm(text)
    province = city = ""
    p_form = _longest_prefix(text, t.provinces, t.longest)
    c_form = _longest_prefix(text, t.cities, t.longest, shortest=2)
    if len(c_form) > len(p_form):
        # 吉林市, 海南藏族自治州: the longer reading is the city.
        province, city = t.cities[c_form]
        return province, city, text[len(c_form) :]
    if p_form:
        province, text = t.provinces[p_form], text[len(p_form) :]
    for size in range(min(len(text), t.longest), 1, -1):
        form = text[:size]
        if form in t.cities:
            p, c = t.cities[form]
            if province and p and p != province:
                continue
            city, text = c, text[size:]
            province = province or p
            break
    if province in MUNICIPALITIES and not city and text:
        city = province  # 北京市朝阳区…: the city of a municipality is the municipality
    return province, city, text


@dataclass
class RegionResult:
    province: str
    city: str
    messages: list[str] = field(default_factory=list)


def region_clean(province: str, city: str, address: str = "") -> RegionResult:
    """Normalised (province, city) with a message for each change a person should know about."""
    raw_p, raw_c = (province or "").strip(), (city or "").strip()
    t = tables()
    messages: list[str] = []
    p = c = ""
    if raw_p:
        p, c_from_p, rest = split_region(raw_p)
        if not p and c_from_p:
            p = t.cities.get(c_from_p, ("", ""))[0]
        if not p:
            p = raw_p[:20]
            messages.append(_("未识别的省份「%s」，已按原文保留") % raw_p[:20])
        elif rest and not c_from_p:
            messages.append(
                _("省份「%(raw)s」中的「%(rest)s」未能识别，已忽略")
                % {"raw": raw_p[:30], "rest": rest[:20]}
            )
        if c_from_p and not raw_c:
            c = c_from_p
    if raw_c:
        exact = t.cities.get(_norm(raw_c))
        cp, cc, _rest = (exact[0], exact[1], "") if exact else split_region(raw_c)
        if cc:
            if p and cp and cp != p and p in t.provinces.values():
                messages.append(_("城市「%(c)s」不属于「%(p)s」，请核对") % {"c": cc, "p": p})
            c = cc
            p = p or cp
        elif cp and not p:
            p = cp
        else:
            c = raw_c[:30]
            messages.append(_("未识别的城市「%s」，已按原文保留") % raw_c[:30])
    if not p and not c and address:
        ap, ac, _rest = split_region(address)
        if ap or ac:
            p, c = ap, ac
            messages.append(_("省市取自地址：%s") % " / ".join(x for x in (p, c) if x))
    if (p, c) != (raw_p, raw_c) and (raw_p or raw_c) and not messages:
        messages.append(
            _("地区已规范：%(a)s → %(b)s")
            % {
                "a": " ".join(x for x in (raw_p, raw_c) if x),
                "b": " / ".join(x for x in (p, c) if x),
            }
        )
    return RegionResult(p, c, messages)
