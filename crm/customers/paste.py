"""Pick a contact's phone, email, company and name out of pasted text.

Quick add offers a box for a WeChat message or an email signature; this finds what it can and
the form fills only the fields the user left empty. Pure functions: no database, no network.
Nothing here validates: the services normalise and check whatever ends up in the form.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass

MAX_PASTE = 4000

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Mainland mobiles: 11 digits starting 13-19, typed with spaces or dashes, optionally +86.
MOBILE = re.compile(r"(?<![\d+])(?:\+?86[\s-]?)?(1[3-9]\d(?:[\s-]?\d){8})(?!\d)")
# Landlines: area code 0xx(x) then 7-8 digits, optional extension; and 400/800 hotlines.
LANDLINE = re.compile(
    r"(?<!\d)(?:\+?86[\s-]?)?[(]?(0\d{2,3})[)]?[\s-]?(\d{3,4}[\s-]?\d{4})"
    r"(?:\s*(?:-|转|ext\.?|x)\s*(\d{1,6}))?(?!\d)",
    re.IGNORECASE,
)
HOTLINE = re.compile(r"(?<!\d)([48]00)[\s-]?(\d{3})[\s-]?(\d{4})(?!\d)")
WECHAT = re.compile(
    r"(?:微信号?|wechat(?:\s*id)?|weixin|wx)\s*[:：]?\s*([A-Za-z][-_A-Za-z0-9]{5,19})",
    re.IGNORECASE,
)
LABELLED_NAME = re.compile(r"(?:姓名|联系人|name)\s*:\s*([^\s,;|/]{2,20})", re.IGNORECASE)
LABELLED_COMPANY = re.compile(r"(?:公司名称|公司|单位|company)\s*:\s*(.+)", re.IGNORECASE)
LABELLED_TITLE = re.compile(r"(?:职务|职位|title)\s*:\s*([^,;|/]{2,30})", re.IGNORECASE)
# "我是杭州海康威视的王建国" / "这里是华信智能的李娜"
INTRO = re.compile(
    r"(?:我是|这里是|我们是)([\u4e00-\u9fffA-Za-z0-9()]{2,30}?)的([\u4e00-\u9fff]{2,4})"
    r"(?=[,.!?;:\s]|$|，|。|！)"
)
FAX = re.compile(r"传真|fax", re.IGNORECASE)
COMPANY_WORDS = (
    "公司",
    "集团",
    "研究院",
    "研究所",
    "设计院",
    "大学",
    "学院",
    "医院",
    "事务所",
    "银行",
    "工厂",
    "厂",
    "中心",
    "co.,ltd",
    "co.ltd",
    "ltd",
    "inc",
    "corporation",
    "limited",
    "gmbh",
)
TITLE_WORDS = (
    "经理",
    "总监",
    "主管",
    "总经理",
    "董事长",
    "董事",
    "总裁",
    "工程师",
    "专员",
    "主任",
    "助理",
    "顾问",
    "代表",
    "采购",
    "秘书",
    "负责人",
    "ceo",
    "cto",
    "cfo",
    "coo",
    "vp",
    "manager",
    "director",
    "engineer",
    "sales",
)
LABEL_PREFIX = re.compile(
    r"^(?:手机|电话|座机|移动电话|mobile|tel|phone|m|t|邮箱|电子邮件|e-?mail|地址|address|网址|web)\s*:",
    re.IGNORECASE,
)
CJK_NAME = re.compile(r"[\u4e00-\u9fff·]{2,4}")
LATIN_NAME = re.compile(r"[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}")
# A trailing "Tel:" / "电话：" whose number went to the next segment.
LABEL_TAIL = re.compile(r"\s*(?:手机|电话|tel|phone|mobile|m|t)\s*:\s*$", re.IGNORECASE)
SEGMENT_SPLIT = re.compile(r"[|/;,·•\t]|\s{2,}")
# Greetings and sign-offs that look like a two-to-four character name.
NOT_NAMES = frozenset(
    {
        "你好",
        "您好",
        "大家好",
        "谢谢",
        "感谢",
        "此致",
        "敬礼",
        "祝好",
        "顺祝商祺",
        "商祺",
        "此致敬礼",
        "早上好",
        "下午好",
        "晚上好",
        "收到",
        "好的",
    }
)


@dataclass
class PasteResult:
    name: str = ""
    company: str = ""
    title: str = ""
    mobile: str = ""
    phone: str = ""
    email: str = ""
    wechat: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


def _clean(text: str) -> str:
    # NFKC: full-width digits, letters, colons and brackets become their ASCII forms.
    text = unicodedata.normalize("NFKC", text or "")[:MAX_PASTE]
    return re.sub(r"(?i)co\.?\s*,\s*ltd", "Co.Ltd", text)


def _is_company(segment: str) -> bool:
    low = segment.lower()
    return any(word in low for word in COMPANY_WORDS)


def _is_title(segment: str) -> bool:
    low = segment.lower()
    return any(word in low for word in TITLE_WORDS)


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _phones(result: PasteResult, lines: list[str]) -> None:
    for line in lines:
        if FAX.search(line):
            continue
        if not result.mobile:
            m = MOBILE.search(line)
            if m:
                result.mobile = _digits(m.group(1))
        if not result.phone:
            m = LANDLINE.search(line)
            if m:
                number = f"{m.group(1)}-{_digits(m.group(2))}"
                result.phone = f"{number}-{m.group(3)}" if m.group(3) else number
            else:
                h = HOTLINE.search(line)
                if h:
                    result.phone = "-".join(h.groups())


def paste_parse(text: str) -> PasteResult:
    """Best effort: what looks like a mobile, a landline, an email, a WeChat id, a company,
    a person's name and title. Fax numbers are skipped."""
    result = PasteResult()
    text = _clean(text)
    if not text.strip():
        return result
    lines = [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]
    email = EMAIL.search(text)
    if email:
        result.email = email.group(0).lower()
    wechat = WECHAT.search(text)
    if wechat:
        result.wechat = wechat.group(1)
    _phones(result, lines)
    labelled = LABELLED_NAME.search(text)
    if labelled:
        result.name = labelled.group(1)
    title = LABELLED_TITLE.search(text)
    if title:
        result.title = title.group(1).strip()
    intro = INTRO.search(text)
    if intro:
        result.company = result.company or intro.group(1)
        result.name = result.name or intro.group(2)
    labelled_name = bool(result.name)
    for line in lines:
        if LABEL_PREFIX.match(line) or FAX.search(line):
            continue
        for raw in SEGMENT_SPLIT.split(line):
            # What is left once the numbers and addresses found above are taken out.
            segment = raw
            for pattern in (EMAIL, MOBILE, LANDLINE, HOTLINE, WECHAT):
                segment = pattern.sub(" ", segment)
            segment = LABEL_TAIL.sub("", segment).strip(" :-")
            if not segment or LABEL_PREFIX.match(segment):
                continue
            labelled_company = LABELLED_COMPANY.match(segment)
            if labelled_company:
                result.company = result.company or labelled_company.group(1).strip()[:200]
                continue
            if re.search(r"[\u4e00-\u9fff]", segment) and " " in segment:
                # "张三 销售经理 深圳市某某有限公司": Chinese names and companies have no spaces.
                for word in segment.split():
                    _classify(result, word)
            else:
                _classify(result, re.sub(r"\s+", " ", segment))
    if not labelled_name and not (
        result.mobile or result.phone or result.email or result.wechat or result.company
    ):
        # A short line of chat ("好的，明天见") is not a business card.
        result.name = result.title = ""
    return result


def _classify(result: PasteResult, segment: str) -> None:
    """One piece of a line: a company, a job title, or a person's name (or nothing)."""
    if _is_company(segment):
        if not result.company:
            result.company = segment.replace("Co.Ltd", "Co., Ltd")[:200]
        return
    if _is_title(segment):
        if not result.title and len(segment) <= 30:
            result.title = segment
        return
    if result.name or segment in NOT_NAMES:
        return
    if CJK_NAME.fullmatch(segment) or LATIN_NAME.fullmatch(segment):
        result.name = segment
