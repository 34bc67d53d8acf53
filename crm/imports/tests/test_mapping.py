"""Automatic mapping: synonyms, fuzzy variants, and the export formats of other systems."""

from __future__ import annotations

import pytest

from crm.imports.adapters import adapter_get
from crm.imports.mapping import auto_map, concept_of, vendor_detect
from crm.imports.services import mapping_suggest

pytestmark = pytest.mark.django_db

# Header rows as these systems export them (English UI, default columns).
SALESFORCE_ACCOUNTS = [
    "Account ID", "Account Name", "Account Number", "Type", "Industry", "Billing Street", "Billing City",
    "Billing State/Province", "Billing Zip/Postal Code", "Billing Country", "Phone", "Fax", "Website",
    "Account Owner", "Rating", "Account Source", "Description",
]  # fmt: skip
HUBSPOT_CONTACTS = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number", "Job Title",
    "Associated Company", "City", "State/Region", "Contact owner", "Lifecycle Stage", "Lead Status", "Create Date",
]  # fmt: skip
ZOHO_CONTACTS = [
    "Record Id", "Contact Owner", "Salutation", "First Name", "Last Name", "Account Name", "Email", "Title",
    "Department", "Phone", "Mobile", "Mailing Street", "Mailing City", "Mailing State", "Date of Birth",
    "Description", "Lead Source", "Secondary Email", "Created Time",
]  # fmt: skip
ODOO_PARTNERS = [
    "ID", "Name", "Company Name", "Job Position", "Phone", "Mobile", "Email", "Street", "City", "State",
    "Country", "Tax ID", "Salesperson", "Tags", "Title",
]  # fmt: skip
GOOGLE_CONTACTS = [
    "First Name", "Middle Name", "Last Name", "Phonetic First Name", "Name Prefix", "Nickname",
    "Organization Name", "Organization Title", "Birthday", "Notes", "Labels", "E-mail 1 - Label",
    "E-mail 1 - Value", "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label", "Phone 2 - Value",
    "Address 1 - Formatted", "Address 1 - City", "Address 1 - Region",
]  # fmt: skip
OUTLOOK_CONTACTS = [
    "Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Department", "Job Title",
    "Business Street", "Business City", "Business State", "Business Phone", "Business Phone 2",
    "Home Phone", "Mobile Phone", "E-mail Address", "E-mail 2 Address", "Birthday", "Notes", "Web Page",
    "Categories",
]  # fmt: skip
OUTLOOK_ZH = [
    "名",
    "姓",
    "称谓",
    "公司",
    "部门",
    "职务",
    "商务电话",
    "移动电话",
    "电子邮件地址",
    "生日",
    "备注",
    "网页",
]


def _map(entity: str, headers: list[str]) -> dict[str, str]:
    mapping, _sources, _messages = mapping_suggest(adapter_get(entity), headers)
    return {headers[int(i)]: k for i, k in mapping.items() if k}


def test_salesforce_accounts():
    m = _map("customer", SALESFORCE_ACCOUNTS)
    assert vendor_detect(SALESFORCE_ACCOUNTS).key == "salesforce"
    assert m["Account Name"] == "name"
    assert m["Billing City"] == "city" and m["Billing State/Province"] == "province"
    assert m["Billing Street"] == "address" and m["Website"] == "website"
    assert m["Rating"] == "level" and m["Account Owner"] == "owner"
    assert m["Phone"] == "contact.phone"
    assert "Account ID" not in m and "Account Number" not in m  # never our record id


def test_hubspot_contacts_into_contacts():
    m = _map("contact", HUBSPOT_CONTACTS)
    assert m["First Name"] == "given_name" and m["Last Name"] == "family_name"
    assert m["Mobile Phone Number"] == "mobile" and m["Phone Number"] == "phone"
    assert m["Associated Company"] == "customer" and m["Job Title"] == "title"
    assert "Record ID" not in m


def test_zoho_contacts():
    m = _map("contact", ZOHO_CONTACTS)
    assert m["Account Name"] == "customer" and m["Salutation"] == "salutation"
    assert m["Email"] == "email" and m["Secondary Email"] == "email"  # several columns, one field
    assert m["Date of Birth"] == "birthday" and m["Department"] == "department"


def test_odoo_partners_into_customers():
    m = _map("customer", ODOO_PARTNERS)
    assert vendor_detect(ODOO_PARTNERS).key == "odoo"
    assert m["Company Name"] == "name" and m["Name"] == "contact.name"
    assert m["Tax ID"] == "credit_code" and m["Job Position"] == "contact.title"
    assert m["Title"] == "contact.salutation" and m["Salesperson"] == "owner"
    assert "ID" not in m


def test_google_contacts():
    m = _map("contact", GOOGLE_CONTACTS)
    assert m["Organization Name"] == "customer" and m["Organization Title"] == "title"
    assert m["Phone 1 - Value"] == "phone" and m["Phone 2 - Value"] == "phone"
    assert m["E-mail 1 - Value"] == "email" and m["Name Prefix"] == "salutation"
    assert "Phone 1 - Label" not in m and "Nickname" not in m


def test_outlook_title_is_a_salutation():
    m = _map("contact", OUTLOOK_CONTACTS)
    assert vendor_detect(OUTLOOK_CONTACTS).key == "outlook"
    assert m["Title"] == "salutation" and m["Job Title"] == "title"
    assert m["Mobile Phone"] == "mobile" and m["Business Phone"] == "phone"
    assert m["Company"] == "customer" and "Categories" not in m


def test_outlook_chinese():
    m = _map("contact", OUTLOOK_ZH)
    assert m["移动电话"] == "mobile" and m["商务电话"] == "phone" and m["称谓"] == "salutation"
    assert m["名"] == "given_name" and m["姓"] == "family_name"


@pytest.mark.parametrize(
    ("header", "concept"),
    [
        ("客户名称", "company"),
        ("客户名称（必填）", "company"),
        ("*公司名称", "company"),
        ("联系人手机号码", "mobile"),
        ("手机号", "mobile"),
        ("联系电话", "phone"),
        ("E-mail", "email"),
        ("电子邮箱", "email"),
        ("所在省份", "province"),
        ("统一社会信用代码", "credit_code"),
        ("纳税人识别号", "credit_code"),
        ("业务员", "owner"),
        ("客户等级", "level"),
        ("备注信息", "notes"),
        ("微信号", "wechat"),
        ("不相干的列", ""),
    ],
)
def test_chinese_and_english_synonyms(header, concept):
    assert concept_of(header).concept == concept


def test_one_column_per_single_field():
    result = auto_map(["客户名称", "公司名称", "手机", "手机号"], {"company", "mobile"})
    assert [c.concept for c in result.columns] == ["company", "", "mobile", "mobile"]


def test_our_own_export_maps_back():
    headers = ["ID", "客户名称", "统一社会信用代码", "行业", "客户级别", "客户来源", "客户状态", "省份", "城市", "详细地址",
               "网址", "备注", "标签", "负责人", "负责人账号", "部门", "联系人", "职务", "手机", "电话", "邮箱",
               "最近跟进", "下次跟进", "创建时间"]  # fmt: skip
    m = _map("customer", headers)
    assert m["ID"] == "id" and m["负责人账号"] == "owner_username"
    assert "负责人" not in m and "部门" not in m and "创建时间" not in m
    assert (
        m["联系人"] == "contact.name"
        and m["职务"] == "contact.title"
        and m["手机"] == "contact.mobile"
    )
    # the same headers in a file that is not our export: "ID" is never taken for our id
    plain = _map("customer", ["ID", "客户名称", "手机"])
    assert "ID" not in plain


def test_template_wins(org):
    from crm.imports.services import mapping_template_save

    template = mapping_template_save(
        actor=org.admin,
        entity="customer",
        name="旧表",
        mapping={"单位": "name", "电话": "contact.mobile", "备注": ""},
    )
    mapping, sources, _m = mapping_suggest(
        adapter_get("customer"), ["单位", "电话", "备注"], template.mapping
    )
    assert mapping == {"0": "name", "1": "contact.mobile", "2": ""}
    assert sources["0"] == "映射模板"
