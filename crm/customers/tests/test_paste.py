"""Reading a pasted WeChat message or email signature for quick add (pure, no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.customers.forms import quick_add_prefill
from crm.customers.paste import paste_parse


def test_chinese_signature():
    found = paste_parse(
        "王建国\n销售总监\n杭州海康威视数字技术股份有限公司\n"
        "手机：138 1234 5678\n电话：0571-8888 6666 转 8001\n传真：0571-88886667\n"
        "邮箱：WJG@hik.com\n地址：杭州市滨江区阡陌路555号"
    )
    assert found.as_dict() == {
        "name": "王建国",
        "title": "销售总监",
        "company": "杭州海康威视数字技术股份有限公司",
        "mobile": "13812345678",
        "phone": "0571-88886666-8001",  # the fax number is not taken
        "email": "wjg@hik.com",
    }


def test_wechat_message():
    found = paste_parse(
        "你好，我是杭州海康威视的王建国，电话13812345678，邮箱wjg@hik.com，微信 wjg_1980"
    )
    assert (found.name, found.company, found.mobile, found.email, found.wechat) == (
        "王建国",
        "杭州海康威视",
        "13812345678",
        "wjg@hik.com",
        "wjg_1980",
    )


def test_english_one_line_signature():
    found = paste_parse(
        "Li Na | Sales Manager | Shanghai Huaxin Co., Ltd. | M: +86 139-0000-1111 | "
        "T: (021) 6123 4567 | lina@huaxin.cn"
    )
    assert found.name == "Li Na"
    assert found.title == "Sales Manager"
    assert found.company == "Shanghai Huaxin Co., Ltd."
    assert (found.mobile, found.phone, found.email) == (
        "13900001111",
        "021-61234567",
        "lina@huaxin.cn",
    )


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("联系人：赵六\n公司：北京某某科技有限公司", "company", "北京某某科技有限公司"),
        ("联系人：赵六", "name", "赵六"),
        ("手机：１３９１１１１２２２２", "mobile", "13911112222"),  # full-width digits
        ("客服热线 400-820-8820", "phone", "400-820-8820"),
        ("张三 销售经理 深圳市腾讯计算机系统有限公司", "title", "销售经理"),
        ("张三 销售经理 深圳市腾讯计算机系统有限公司", "name", "张三"),
        ("您好\n李四\n上海某某集团", "name", "李四"),  # a greeting is not a name
    ],
)
def test_pieces(text, key, value):
    assert getattr(paste_parse(text), key) == value


def test_nothing_found():
    assert paste_parse("").as_dict() == {}
    assert paste_parse("好的，明天见").as_dict() == {}


def test_prefill_fills_only_blanks():
    data, filled = quick_add_prefill(
        {"paste": "王建国 138 1234 5678 wjg@hik.com", "email": "mine@x.cn", "name": ""}
    )
    assert data["mobile"] == "13812345678"
    assert data["email"] == "mine@x.cn"
    assert data["contact_name"] == "王建国"
    assert set(filled) == {"mobile", "contact_name"}


@given(st.text(max_size=300))
def test_any_text_is_safe(text):
    found = paste_parse(text)
    assert all(isinstance(v, str) for v in found.as_dict().values())
    if found.mobile:
        assert found.mobile.isdigit() and len(found.mobile) == 11
