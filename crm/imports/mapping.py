"""Which column goes into which field: automatic mapping from the header row.

Headers are matched to *concepts* (company, person name, mobile …), which each import
adapter maps to its own fields (a company column is the customer's name in a customer import
and the customer to link to in a contact import). Three sources, strongest first:

1. the export formats of other CRMs and address books (Salesforce, HubSpot, Zoho, Odoo,
   Google Contacts, Outlook — in English and, for Outlook and Google, Chinese): when a file
   carries enough of a format's typical headers, its columns are read the way that format
   means them (Outlook's "Title" is Mr./Ms., not a job title);
2. Chinese and English synonyms;
3. a fuzzy match (rapidfuzz) for variants such as "客户名称（必填）" or "联系人手机号码".

Unknown columns stay unmapped; the wizard offers to keep them as custom fields.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

# ---------------------------------------------------------------- synonyms per concept

SYNONYMS: dict[str, tuple[str, ...]] = {
    "company": (
        "客户名称", "客户", "客户全称", "公司名称", "公司", "公司全称", "企业名称", "企业", "单位名称",
        "单位", "工作单位", "所在公司", "名称", "客户名", "account name", "account", "company",
        "company name", "companyname", "organization", "organization name", "organisation",
        "org", "customer", "customer name", "business name", "associated company",
        "related company", "parent company",
    ),
    "credit_code": (
        "统一社会信用代码", "社会信用代码", "信用代码", "统一信用代码", "税号", "纳税人识别号",
        "营业执照号", "营业执照注册号", "credit code", "unified social credit code", "uscc",
        "tax id", "taxid", "vat", "tax number",
    ),
    "industry": ("行业", "所属行业", "行业类别", "行业分类", "industry", "sector"),
    "level": (
        "客户级别", "级别", "客户等级", "等级", "客户分级", "重要程度", "rating", "level", "tier",
        "priority", "customer level",
    ),
    "source": (
        "客户来源", "来源", "来源渠道", "渠道", "获客渠道", "线索来源", "source", "lead source",
        "account source", "original source", "channel",
    ),
    "province": (
        "省份", "省", "所在省份", "省/直辖市", "省市", "地区", "所在地区", "区域", "state",
        "province", "region", "state/province", "state/region", "billing state/province",
        "billing state", "mailing state", "mailing state/province", "business state",
    ),
    "city": (
        "城市", "市", "所在城市", "所在地", "city", "billing city", "mailing city",
        "business city", "town",
    ),
    "address": (
        "详细地址", "地址", "公司地址", "办公地址", "通讯地址", "联系地址", "注册地址", "经营地址",
        "address", "street", "street address", "billing street", "mailing street",
        "business street", "business address", "address line 1",
    ),
    "website": (
        "网址", "网站", "公司网站", "官网", "主页", "公司主页", "website", "web site", "web",
        "url", "homepage", "website url", "company domain name", "web page", "domain",
    ),
    "status": ("客户状态", "状态", "customer status", "status", "account status"),
    "notes": (
        "备注", "说明", "描述", "备注信息", "客户备注", "简介", "公司简介", "notes", "note",
        "description", "remarks", "remark", "comment", "comments", "about",
    ),
    "owner_login": ("负责人账号", "负责人用户名", "owner username", "owner login"),
    "owner": (
        "负责人", "销售", "销售员", "业务员", "客户经理", "跟进人", "所属销售", "归属人",
        "销售负责人", "owner", "account owner", "company owner", "contact owner",
        "lead owner", "deal owner", "opportunity owner", "salesperson", "sales rep",
        "assigned to", "record owner",
    ),
    "tags": ("标签", "客户标签", "分类", "tags", "tag", "labels", "categories", "group membership"),
    "person_name": (
        "联系人", "联系人姓名", "姓名", "名字", "联系人名称", "对接人", "contact", "contact name",
        "contact person", "full name", "name", "display name", "file as",
    ),
    "family_name": ("姓", "姓氏", "last name", "lastname", "surname", "family name"),
    "given_name": ("名", "first name", "firstname", "given name"),
    "salutation": ("称谓", "称呼", "尊称", "salutation", "name prefix", "prefix"),
    "title": (
        "职务", "职位", "联系人职务", "岗位", "头衔", "title", "job title", "position",
        "designation", "role title", "organization title", "organization 1 - title",
    ),
    "department": ("部门", "所在部门", "department", "organization department", "organization 1 - department"),
    "mobile": (
        "手机", "手机号", "手机号码", "移动电话", "联系人手机", "联系手机", "mobile", "mobile phone",
        "mobile phone number", "cell", "cell phone", "cellphone", "mobile number",
    ),
    "phone": (
        "电话", "座机", "固话", "固定电话", "办公电话", "联系电话", "电话号码", "联系方式",
        "公司电话", "单位电话", "phone", "telephone", "tel", "phone number", "work phone",
        "business phone", "business phone 2", "company phone", "office phone", "home phone",
        "phone 1 - value", "phone 2 - value", "phone 3 - value", "other phone",
    ),
    "email": (
        "邮箱", "电子邮箱", "邮件", "电子邮件", "邮箱地址", "电子邮件地址", "联系人邮箱", "email",
        "e-mail", "email address", "e-mail address", "e-mail 1 - value", "e-mail 2 - value",
        "e-mail 2 address", "e-mail 3 address", "secondary email", "work email",
    ),
    "wechat": ("微信", "微信号", "wechat", "wechat id", "weixin", "wx"),
    "birthday": ("生日", "出生日期", "出生年月", "birthday", "birthdate", "date of birth", "dob"),
    "role": ("联系人角色", "角色", "决策角色", "role", "contact role"),
    "contact_notes": ("联系人备注",),
    # links from a row to an existing record
    "customer_code": ("客户信用代码", "客户统一社会信用代码", "account number"),
    # opportunities
    "deal_name": (
        "商机名称", "商机", "机会名称", "项目名称", "opportunity", "opportunity name", "deal name",
        "deal",
    ),
    "amount": (
        "金额", "商机金额", "预计金额", "合同金额", "预计收入", "amount", "deal amount",
        "expected revenue", "value",
    ),
    "close_date": (
        "预计成交日期", "预计签约日期", "成交日期", "预计成交时间", "close date", "closing date",
        "expected closing", "expected close date",
    ),
    "stage": ("阶段", "销售阶段", "商机阶段", "stage", "deal stage", "sales stage"),
    "pipeline": ("销售流程", "管道", "pipeline", "sales team"),
    "probability": ("赢率", "成交概率", "可能性", "probability", "probability (%)"),
    "currency": ("币种", "货币", "currency"),
    # follow-ups
    "followup_kind": ("跟进方式", "跟进类型", "沟通方式", "联系方式类型", "方式", "activity type", "type"),
    "followup_content": (
        "跟进内容", "沟通内容", "内容", "跟进记录", "拜访记录", "记录", "沟通记录", "content",
        "activity", "subject", "details",
    ),
    "followup_at": ("跟进时间", "跟进日期", "沟通时间", "拜访时间", "时间", "日期", "date", "activity date"),
    "next_action": ("下一步", "下一步计划", "后续计划", "下步计划", "next step", "next action"),
    "next_at": ("下次跟进时间", "下次跟进", "下次联系时间", "下次拜访时间", "next follow up", "follow-up date"),
    "location": ("地点", "拜访地点", "location"),
    # leads
    "lead_status": ("线索状态", "lead status"),
}  # fmt: skip

# ---------------------------------------------------------------- export formats of other systems


@dataclass(frozen=True)
class Vendor:
    key: str
    label: str
    # header (as exported) → concept ("" = known column we do not import)
    columns: dict[str, str]
    # at least this many of `columns` must be present for the profile to apply
    min_hits: int = 3
    # … and all of these (headers only that format has)
    markers: tuple[str, ...] = ()


def _cols(pairs: str) -> dict[str, str]:
    """'Header=concept; Header2=; …' → dict (concept '' = known, not imported)."""
    out: dict[str, str] = {}
    for item in pairs.split(";"):
        if item.strip():
            header, _sep, concept = item.strip().rpartition("=")
            out[header.strip()] = concept.strip()
    return out


VENDORS: list[Vendor] = [
    # This CRM's own exports (crm/customers/exports.py): a file exported, edited in Excel and
    # imported again updates the same records (ID), and its extra columns are not data.
    Vendor(
        "crm_customers",
        "本系统客户导出",
        _cols(
            "ID=record_id; 客户名称=company; 统一社会信用代码=credit_code; 行业=industry;"
            "客户级别=level; 客户来源=source; 客户状态=status; 省份=province; 城市=city;"
            "详细地址=address; 网址=website; 备注=notes; 标签=tags; 负责人=;"
            "负责人账号=owner_login; 部门=; 联系人=person_name; 职务=title; 手机=mobile;"
            "电话=phone; 邮箱=email; 最近跟进=; 下次跟进=; 创建时间="
        ),
        min_hits=5,
        markers=("ID", "负责人账号"),
    ),
    Vendor(
        "crm_contacts",
        "本系统联系人导出",
        _cols(
            "ID=record_id; 客户ID=customer_id; 客户=company; 统一社会信用代码=credit_code;"
            "姓名=person_name; 职务=title; 手机=mobile; 电话=phone; 邮箱=email; 微信=wechat;"
            "生日=birthday; 角色=role; 主要联系人=; 备注=notes; 创建时间="
        ),
        min_hits=5,
        markers=("ID", "客户ID"),
    ),
    Vendor(
        "salesforce",
        "Salesforce",
        _cols(
            "Account ID=; Account Name=company; Account Number=; Type=; Industry=industry;"
            "Billing Street=address; Billing City=city; Billing State/Province=province;"
            "Billing Zip/Postal Code=; Billing Country=; Shipping Street=; Shipping City=;"
            "Phone=phone; Fax=; Website=website; Description=notes; Account Owner=owner;"
            "Rating=level; Account Source=source; Annual Revenue=; Employees=; Parent Account=;"
            "Contact ID=; Salutation=salutation; First Name=given_name; Last Name=family_name;"
            "Title=title; Department=department; Email=email; Mobile=mobile; Home Phone=phone;"
            "Mailing Street=address; Mailing City=city; Mailing State/Province=province;"
            "Mailing Zip/Postal Code=; Mailing Country=; Birthdate=birthday; Lead Source=source;"
            "Contact Owner=owner; Lead ID=; Company=company; Lead Status=lead_status;"
            "Lead Owner=owner; Street=address; City=city; State/Province=province;"
            "Opportunity ID=; Opportunity Name=deal_name; Amount=amount; Close Date=close_date;"
            "Stage=stage; Probability (%)=probability; Next Step=next_action;"
            "Opportunity Owner=owner; Created Date=; Last Modified Date=; Created By=;"
            "Last Activity=; Fiscal Period="
        ),
    ),
    Vendor(
        "hubspot",
        "HubSpot",
        _cols(
            "Record ID=; Company name=company; Company Domain Name=website; Website URL=website;"
            "Phone Number=phone; Mobile Phone Number=mobile; Street Address=address; City=city;"
            "State/Region=province; Country/Region=; Postal Code=; Industry=industry;"
            "Company owner=owner; Contact owner=owner; Deal owner=owner; Description=notes;"
            "Lifecycle Stage=; Lead Status=lead_status; First Name=given_name;"
            "Last Name=family_name; Email=email; Job Title=title; Associated Company=company;"
            "Deal Name=deal_name; Amount=amount; Close Date=close_date; Deal Stage=stage;"
            "Pipeline=pipeline; Create Date=; Last Activity Date=; Original Source=source;"
            "Number of Employees=; Annual Revenue=; Time Zone=; Type="
        ),
    ),
    Vendor(
        "zoho",
        "Zoho CRM",
        _cols(
            "Record Id=; Account Name=company; Account Number=; Account Owner=owner;"
            "Account Type=; Phone=phone; Fax=; Website=website; Industry=industry;"
            "Rating=level; Billing Street=address; Billing City=city; Billing State=province;"
            "Billing Code=; Billing Country=; Description=notes; Contact Owner=owner;"
            "Salutation=salutation; First Name=given_name; Last Name=family_name;"
            "Email=email; Secondary Email=email; Mobile=mobile; Title=title;"
            "Department=department; Mailing Street=address; Mailing City=city;"
            "Mailing State=province; Mailing Zip=; Mailing Country=; Date of Birth=birthday;"
            "Lead Source=source; Skype ID=; Company=company; Lead Status=lead_status;"
            "Designation=title; Lead Owner=owner; Street=address; State=province;"
            "Deal Name=deal_name; Amount=amount; Closing Date=close_date; Stage=stage;"
            "Probability (%)=probability; Deal Owner=owner; Pipeline=pipeline;"
            "Created Time=; Modified Time=; Created By=; Modified By="
        ),
    ),
    Vendor(
        "odoo",
        "Odoo",
        _cols(
            "ID=; Name=person_name; Display Name=; Company Name=company;"
            "Related Company=company; Is a Company=; Job Position=title; Title=salutation;"
            "Phone=phone; Mobile=mobile; Email=email; Website=website; Street=address;"
            "Street2=; City=city; State=province; Country=; Zip=; Tax ID=credit_code;"
            "Salesperson=owner; Tags=tags; Notes=notes; Internal Notes=notes;"
            "Opportunity=deal_name; Customer=company; Expected Revenue=amount;"
            "Expected Closing=close_date; Stage=stage; Probability=probability;"
            "Contact Name=person_name; Sales Team=pipeline; Language=; Active="
        ),
    ),
    Vendor(
        "google",
        "Google 通讯录",
        _cols(
            "Name=person_name; Given Name=given_name; Additional Name=; Family Name=family_name;"
            "First Name=given_name; Middle Name=; Last Name=family_name;"
            "Phonetic First Name=; Phonetic Middle Name=; Phonetic Last Name=;"
            "Name Prefix=salutation; Name Suffix=; Nickname=; File As=;"
            "Organization Name=company; Organization Title=title;"
            "Organization Department=department; Organization 1 - Name=company;"
            "Organization 1 - Title=title; Organization 1 - Department=department;"
            "Birthday=birthday; Notes=notes; Photo=; Labels=; Group Membership=;"
            "E-mail 1 - Label=; E-mail 1 - Value=email; E-mail 2 - Label=;"
            "E-mail 2 - Value=email; E-mail 1 - Type=; E-mail 2 - Type=;"
            "Phone 1 - Label=; Phone 1 - Value=phone; Phone 2 - Label=; Phone 2 - Value=phone;"
            "Phone 3 - Label=; Phone 3 - Value=phone; Phone 1 - Type=; Phone 2 - Type=;"
            "Address 1 - Label=; Address 1 - Formatted=address; Address 1 - Street=;"
            "Address 1 - City=city; Address 1 - PO Box=; Address 1 - Region=province;"
            "Address 1 - Postal Code=; Address 1 - Country=; Address 1 - Extended Address=;"
            "Website 1 - Label=; Website 1 - Value=website; Website 1 - Type="
        ),
    ),
    Vendor(
        "google_zh",
        "Google 通讯录（中文）",
        _cols(
            "名字=given_name; 中间名=; 姓氏=family_name; 名字拼音=; 姓氏拼音=; 名称前缀=salutation;"
            "名称后缀=; 昵称=; 组织名称=company; 组织职位=title; 组织部门=department; 生日=birthday;"
            "备注=notes; 照片=; 标签=; 电子邮件 1 - 标签=; 电子邮件 1 - 值=email;"
            "电子邮件 2 - 标签=; 电子邮件 2 - 值=email; 电话 1 - 标签=; 电话 1 - 值=phone;"
            "电话 2 - 标签=; 电话 2 - 值=phone; 地址 1 - 标签=; 地址 1 - 格式化=address;"
            "地址 1 - 城市=city; 地址 1 - 地区=province; 网站 1 - 标签=; 网站 1 - 值=website"
        ),
    ),
    Vendor(
        "outlook",
        "Outlook",
        _cols(
            "Title=salutation; First Name=given_name; Middle Name=; Last Name=family_name;"
            "Suffix=; Company=company; Department=department; Job Title=title;"
            "Business Street=address; Business Street 2=; Business City=city;"
            "Business State=province; Business Postal Code=; Business Country/Region=;"
            "Home Street=; Home City=; Home State=; Home Postal Code=; Home Country/Region=;"
            "Business Fax=; Business Phone=phone; Business Phone 2=phone; Home Phone=phone;"
            "Mobile Phone=mobile; Other Phone=phone; Pager=; Company Main Phone=phone;"
            "E-mail Address=email; E-mail Display Name=; E-mail 2 Address=email;"
            "E-mail 3 Address=email; Birthday=birthday; Notes=notes; Web Page=website;"
            "Categories=tags; Anniversary=; Assistant's Name=; Manager's Name=; Initials=;"
            "Office Location=; Spouse="
        ),
    ),
    Vendor(
        "outlook_zh",
        "Outlook（中文）",
        _cols(
            "称谓=salutation; 名=given_name; 中间名=; 姓=family_name; 后缀=; 公司=company;"
            "部门=department; 职务=title; 商务地址 街道=address; 商务地址 市/县=city;"
            "商务地址 省/市/自治区=province; 商务地址 邮政编码=; 商务地址 国家/地区=;"
            "商务传真=; 商务电话=phone; 商务电话 2=phone; 住宅电话=phone; 移动电话=mobile;"
            "其他电话=phone; 电子邮件地址=email; 电子邮件显示名称=; 电子邮件 2 地址=email;"
            "生日=birthday; 备注=notes; 网页=website; 类别=tags; 纪念日=; 办公地点="
        ),
    ),
]

# Concepts a column may feed more than once (joined): several phone columns, address parts.
MULTI = frozenset(
    {"phone", "mobile", "email", "notes", "address", "tags", "contact_notes", "department"}
)


def header_key(text: str) -> str:
    """A header as compared: NFKC, lower case, no required-markers (*, (必填)), single spaces."""
    t = unicodedata.normalize("NFKC", text or "").lower().strip()
    t = re.sub(r"\((必填|选填|可选|必须|required|optional)\)", "", t)
    t = t.strip(" *:：#")
    return re.sub(r"\s+", " ", t)


_SYN_INDEX: dict[str, str] = {}
for _concept, _words in SYNONYMS.items():
    for _word in _words:
        _SYN_INDEX.setdefault(header_key(_word), _concept)


@dataclass
class Suggestion:
    """The automatic mapping of one column."""

    concept: str  # "" when nothing fits
    source: str = ""  # why: the export format, "同义词", "相似 90%"
    score: int = 0
    by_vendor: bool = False  # the recognised export format knows this column


@dataclass
class AutoMap:
    columns: list[Suggestion] = field(default_factory=list)
    vendor: str = ""  # label of the recognised export format
    messages: list[str] = field(default_factory=list)


def vendor_detect(headers: list[str]) -> Vendor | None:
    keys = {header_key(h) for h in headers}
    best: tuple[int, Vendor | None] = (0, None)
    for vendor in VENDORS:
        if any(header_key(m) not in keys for m in vendor.markers):
            continue
        hits = sum(1 for h in vendor.columns if header_key(h) in keys)
        if hits >= vendor.min_hits and hits > best[0]:
            best = (hits, vendor)
    return best[1]


def concept_of(header: str, allowed: set[str] | None = None) -> Suggestion:
    """Synonyms, then containment ("联系人手机号码" contains 手机), then a fuzzy match."""
    key = header_key(header)
    if not key:
        return Suggestion("")
    concept = _SYN_INDEX.get(key)
    if concept and (allowed is None or concept in allowed):
        return Suggestion(concept, _("同义词"), 100)
    from rapidfuzz import fuzz, process

    choices = {w: c for w, c in _SYN_INDEX.items() if allowed is None or c in allowed}
    # Longest synonym contained in the header: 联系人手机号码 → 手机号码 (mobile).
    contained = [w for w in choices if len(w) >= 2 and w in key and len(w) * 2 > len(key)]
    if contained:
        word = max(contained, key=len)
        return Suggestion(choices[word], _("包含「%s」") % word, 90)
    match = process.extractOne(key, list(choices), scorer=fuzz.ratio, score_cutoff=85)
    if match:
        word, score, _idx = match
        return Suggestion(choices[word], _("相似 %d%%") % int(score), int(score))
    return Suggestion("")


def auto_map(headers: list[str], allowed: set[str]) -> AutoMap:
    """A concept per column (or "") using the export format when one is recognised.

    A concept that takes one column is given to the first column only; later columns with
    the same concept stay unmapped (a person decides)."""
    out = AutoMap()
    vendor = vendor_detect(headers)
    if vendor is not None:
        out.vendor = vendor.label
        out.messages.append(_("识别为 %s 导出的文件，已按其字段含义映射") % vendor.label)
    vendor_cols = {header_key(h): c for h, c in (vendor.columns.items() if vendor else [])}
    taken: set[str] = set()
    for header in headers:
        key = header_key(header)
        if key in vendor_cols:
            concept = vendor_cols[key]
            label = vendor.label if vendor else ""
            suggestion = Suggestion(
                concept if concept in allowed else "", label, 100, by_vendor=True
            )
        else:
            suggestion = concept_of(header, allowed)
        # "Name" in a file with a company column is the person; in a customer file without
        # one it is the company.
        if suggestion.concept and suggestion.concept not in MULTI and suggestion.concept in taken:
            suggestion = Suggestion("", _("与前面的列重复"), 0)
        if suggestion.concept:
            taken.add(suggestion.concept)
        out.columns.append(suggestion)
    return out
