"""Name parts and blocking keys for duplicate detection. Pure functions, no database.

From a company name we derive, on top of `company_name_key` (no spaces, punctuation or legal
suffix):

- the *core*: the key without a region prefix (浙江省杭州市) and without a branch note,
  "杭州海康威视数字技术股份有限公司" → "海康威视数字技术";
- the *short name* (字号): the core without trailing trade words (科技, 信息技术, 贸易…),
  "海康威视";
- the *pinyin* of the core, toneless, first reading of each character, so homophones and
  traditional characters (華為 / 华为) meet.

Blocking keys (stored per customer in `CustomerKey`, looked up with IN (...)):

- ``p:<province>|<pinyin of core>`` (``p:*|…`` when the province is unknown) — same core,
  or same sound, in the same province (the same core in two provinces scores too low to
  matter: two companies registered in two places);
- ``c:<city>|<short>``, ``r:<province>|<short>``, ``q:<province>|<short>`` — same short
  name in the same city or province (杭州XX科技 / 杭州XX信息技术: a candidate, scored low,
  never merged automatically); see `blocking_keys`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache

from crm.customers.normalize import company_name_key
from crm.dedupe.regions import CITIES, region_of, region_strip

PROVINCES = list(CITIES)

KEY_MAX = 100

# Trade words stripped from the end of a core to find the short name, longest first so that
# 信息技术 goes before 技术. Kept to words that describe a business, never a brand.
TRADE_WORDS = sorted(
    set(
        [
            "科技",
            "技术",
            "信息",
            "信息技术",
            "网络",
            "网络科技",
            "电子",
            "电子科技",
            "电子商务",
            "智能",
            "装备",
            "智能装备",
            "机械",
            "机电",
            "制造",
            "设备",
            "自动化",
            "精密",
            "精细",
            "仪器",
            "仪表",
            "仪器仪表",
            "贸易",
            "国际贸易",
            "商贸",
            "进出口",
            "实业",
            "发展",
            "投资",
            "咨询",
            "管理",
            "服务",
            "工程",
            "建设",
            "建设工程",
            "建筑",
            "建材",
            "装饰",
            "材料",
            "新材料",
            "化工",
            "医药",
            "生物",
            "生物医药",
            "医疗",
            "医疗器械",
            "器械",
            "软件",
            "数据",
            "数字",
            "光电",
            "电气",
            "电器",
            "电力",
            "能源",
            "新能源",
            "环保",
            "环境",
            "物流",
            "供应链",
            "供应链管理",
            "文化",
            "传媒",
            "文化传媒",
            "广告",
            "教育",
            "教育科技",
            "食品",
            "餐饮",
            "服饰",
            "服装",
            "纺织",
            "汽车",
            "汽配",
            "零部件",
            "汽车零部件",
            "家居",
            "家具",
            "房地产",
            "置业",
            "物业",
            "国际",
            "集团",
            "控股",
            "企业",
            "工业",
            "产业",
            "通信",
            "通讯",
            "系统",
            "计算机",
            "云计算",
            "检测",
            "检测技术",
            "工业技术",
            "农业",
            "农业科技",
            "包装",
            "印务",
            "印刷",
            "五金",
            "塑胶",
            "塑胶制品",
            "制品",
            "橡胶",
            "塑料",
            "钢铁",
            "金属",
            "有色",
            "矿业",
            "能源科技",
            "环保科技",
            "新技术",
            "高新技术",
            "开发",
            "研究",
            "研究院",
            "设计",
            "营销",
            "人力资源",
            "金融",
            "保险",
        ]
    ),
    key=lambda w: -len(w),
)
_TRADE_SET = frozenset(TRADE_WORDS)
_TRADE_LENGTHS = sorted({len(w) for w in TRADE_WORDS}, reverse=True)


@dataclass(frozen=True)
class NameParts:
    key: str  # company_name_key: what the registration duplicate check compares
    core: str  # key without region prefix and branch
    short: str  # core without trailing trade words ('' when under two characters)
    province: str  # from the name's prefix (or a region-only bracket), '' when none
    city: str
    branch: str  # the branch note of the key (北京分公司), '' when none

    @cached_property
    def pinyin(self) -> str:
        """Toneless pinyin of the core; computed when first asked (scoring rarely needs it)."""
        return pinyin_of(self.core)


@cache
def _pinyin_table() -> dict[int, str]:
    """Code point → toneless first reading ('hǎi' → 'hai'), built once from pypinyin's table.

    Looking characters up in a dict is ~30 times faster than pypinyin's converter, which
    matters at a million names; the first reading is wrong for some polyphones (重庆), but
    both sides of a comparison get the same one, which is all matching needs.
    """
    from pypinyin.pinyin_dict import pinyin_dict

    table: dict[int, str] = {}
    for code, readings in pinyin_dict.items():
        first = readings.split(",", 1)[0]
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", first) if not unicodedata.combining(c)
        )
        table[code] = plain
    return table


@lru_cache(maxsize=200_000)
def pinyin_of(text: str) -> str:
    table = _pinyin_table()
    return "".join(table.get(ord(c), c) for c in text)


def initials_of(text: str) -> str:
    """First letters of each character's pinyin (海康威视 → hkws); other characters kept."""
    table = _pinyin_table()
    return "".join(table[ord(c)][:1] if ord(c) in table else c for c in text)


def short_of(core: str) -> str:
    text = core
    while True:
        for n in _TRADE_LENGTHS:
            if len(text) - n >= 2 and text[-n:] in _TRADE_SET:
                text = text[:-n]
                break
        else:
            break
    if len(text) < 2 or text in _TRADE_SET:
        return ""
    return text


@lru_cache(maxsize=200_000)
def parts_from_key(key: str) -> NameParts:
    """The parts of a name from its company_name_key (stored on every customer: matching
    a candidate then skips normalising its name again)."""
    base, _sep, branch = key.partition("|")
    core, province, city = region_strip(base)
    if branch:
        # "XX科技(杭州)有限公司": a bracket holding only a region is where, not a branch.
        b_province, b_city = region_of(branch)
        if b_province or b_city:
            province = province or b_province
            city = city or b_city
            branch = ""
    return NameParts(
        key=key,
        core=core,
        short=short_of(core),
        province=province,
        city=city,
        branch=branch,
    )


def name_parts(name: str) -> NameParts:
    return parts_from_key(company_name_key(name or ""))


def name_parts_clear() -> None:
    """Free the caches (a scan over a million names fills them)."""
    parts_from_key.cache_clear()
    pinyin_of.cache_clear()


def blocking_keys(parts: NameParts, *, province: str = "", city: str = "") -> list[str]:
    """The keys a customer is filed under. `province`/`city` are its fields (the name's
    prefix wins).

    p:<province or *>|<pinyin of core>; with a short name: c:<city>|<short> and
    r:<province>|<short> when the
    city is known, q:<province>|<short> when only the province is. A row that knows only the
    province looks up r: and q:; a row with a city looks up c: and q: — so the (large) r:
    blocks are only read for rows without a city, and a scan pairs r: only with q:.
    """
    keys: list[str] = []
    the_province = parts.province or province
    if parts.pinyin:
        keys.append(f"p:{the_province or '*'}|{parts.pinyin}"[:KEY_MAX])
    if parts.short:
        the_city = parts.city or city
        if the_city:
            keys.append(f"c:{the_city}|{parts.short}"[:KEY_MAX])
            if the_province:
                keys.append(f"r:{the_province}|{parts.short}"[:KEY_MAX])
        elif the_province:
            keys.append(f"q:{the_province}|{parts.short}"[:KEY_MAX])
    return keys


def pinyin_provinces(province: str) -> list[str]:
    """The p: blocks a name with this province meets: its own and the unknown one; every
    province when it has none."""
    if province:
        return [province, "*"]
    return ["*", *PROVINCES]


def probe_keys(parts: NameParts, *, province: str = "", city: str = "") -> list[str]:
    """The keys an incoming row is looked up by (see blocking_keys)."""
    keys: list[str] = []
    the_province = parts.province or province
    if parts.pinyin:
        keys += [f"p:{p}|{parts.pinyin}"[:KEY_MAX] for p in pinyin_provinces(the_province)]
    if parts.short:
        the_city = parts.city or city
        if the_city:
            keys.append(f"c:{the_city}|{parts.short}"[:KEY_MAX])
        elif the_province:
            keys.append(f"r:{the_province}|{parts.short}"[:KEY_MAX])
        if the_province:
            keys.append(f"q:{the_province}|{parts.short}"[:KEY_MAX])
    return keys
