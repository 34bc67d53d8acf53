"""Pool, tag, custom field, settings, handover and collaboration pages: wiring and 404s."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.audit.models import AuditEntry
from crm.core.errors import NotFound
from crm.customers import config, services
from crm.customers.models import Customer, CustomerTag, HandoverBatch, Tag
from crm.customers.selectors import customer_get
from crm.customfields.models import CustomFieldDef

pytestmark = pytest.mark.django_db


def _customer(actor, name, **data):
    contacts = data.pop("contacts", None)
    return services.customer_create(actor=actor, data={"name": name, **data}, contacts=contacts)


def _login(client, user):
    client.force_login(user)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# ---------------------------------------------------------------- 404 for non-admins


ADMIN_PAGES = ["custom_field_list", "customer_settings", "handover"]


@pytest.mark.parametrize("username", ["zhang_wei", "li_na", "zhao_min", "director"])
def test_admin_pages_are_404_for_non_admins(client, org, username):
    user = getattr(org, username)
    field = services_field(org)
    batch = HandoverBatch.objects.create(actor=org.admin, from_user=org.zhang_wei, summary={})
    _login(client, user)
    for name in ADMIN_PAGES:
        assert client.get(reverse(name)).status_code == 404, name
        assert client.post(reverse(name), {"action": "apply"}).status_code == 404, name
    assert client.get(reverse("custom_field_edit", args=[field.pk])).status_code == 404
    assert client.post(reverse("handover_undo", args=[batch.pk])).status_code == 404
    assert HandoverBatch.objects.get(pk=batch.pk).undone_at is None


def test_admin_pages_render_for_admin(client, org):
    field = services_field(org)
    _login(client, org.admin)
    for name in ADMIN_PAGES:
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("custom_field_list") + "?entity=contact").status_code == 200
    assert client.get(reverse("custom_field_list") + "?entity=nope").status_code == 404
    assert client.get(reverse("custom_field_edit", args=[field.pk])).status_code == 200
    assert client.get(reverse("custom_field_edit", args=[999999])).status_code == 404


def services_field(org, **kwargs):
    from crm.customfields.services import custom_field_create

    data = {"label": "员工人数", "type": "number", **kwargs}
    return custom_field_create(actor=org.admin, entity="customer", key="employees", **data)


def test_anonymous_is_sent_to_login(client, org):
    response = client.get(reverse("pool_list"))
    assert response.status_code == 302


# ---------------------------------------------------------------- tags


def test_tag_create_nested_path_creates_missing_levels(client, org):
    _login(client, org.zhao_min)  # marketing: may create, edit and delete tags
    response = client.post(
        reverse("tag_list"), {"name": "行业/制造业/汽车零部件", "color": "green"}, follow=True
    )
    assert response.status_code == 200
    assert list(Tag.objects.values_list("full_name", flat=True)) == [
        "行业",
        "行业/制造业",
        "行业/制造业/汽车零部件",
    ]
    leaf = Tag.objects.get(name="汽车零部件")
    assert leaf.parent.parent.name == "行业"
    # A second path reuses the existing levels.
    client.post(reverse("tag_list"), {"name": "行业/制造业/机床", "color": "blue"})
    assert Tag.objects.filter(name="行业").count() == 1
    assert Tag.objects.get(name="机床").parent_id == leaf.parent_id
    page = client.get(reverse("tag_list")).content.decode()
    assert "tree-indent-2" in page and "汽车零部件" in page


def test_tag_create_error_is_shown_next_to_the_field(client, org):
    _login(client, org.zhao_min)
    client.post(reverse("tag_list"), {"name": "重点", "color": "red"})
    response = client.post(reverse("tag_list"), {"name": "重点", "color": "red"})
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["同一级下已有同名标签"]


def test_tags_are_read_only_without_rights_and_404_without_view(client, org):
    tag = services.tag_create(actor=org.admin, name="VIP")
    _login(client, org.zhang_wei)  # sales rep: view only
    response = client.get(reverse("tag_list"))
    assert response.status_code == 200
    assert response.context["form"] is None
    assert "VIP" in response.content.decode()
    assert client.post(reverse("tag_list"), {"name": "X", "color": "blue"}).status_code == 404
    assert client.get(reverse("tag_edit", args=[tag.pk])).status_code == 404
    assert not Tag.objects.filter(name="X").exists()

    from crm.access.tests.factories import UserFactory

    nobody = UserFactory(username="no.roles")
    _login(client, nobody)
    assert client.get(reverse("tag_list")).status_code == 404


def test_tag_rename_and_move(client, org):
    parent = services.tag_create(actor=org.admin, name="地区")
    tag = services.tag_create(actor=org.admin, name="华东")
    _login(client, org.zhao_min)
    response = client.post(
        reverse("tag_edit", args=[tag.pk]),
        {"action": "save", "name": "华东区", "parent": parent.pk, "color": "teal"},
    )
    assert response.status_code == 302
    tag.refresh_from_db()
    assert (tag.full_name, tag.color) == ("地区/华东区", "teal")
    # Moving a tag under its own child is refused next to the field.
    child = services.tag_create(actor=org.admin, name="上海", parent=tag)
    response = client.post(
        reverse("tag_edit", args=[tag.pk]),
        {"action": "save", "name": "华东区", "parent": child.pk, "color": "teal"},
    )
    assert response.status_code == 400
    assert "parent" in response.context["form"].errors


def test_tag_delete_untags_and_keeps_customers(client, org):
    tag = services.tag_create(actor=org.admin, name="展会客户")
    customer = services.customer_create(
        actor=org.zhang_wei, data={"name": "苏州精密机械有限公司"}, tags=[tag]
    )
    _login(client, org.admin)
    page = client.get(reverse("tag_edit", args=[tag.pk])).content.decode()
    assert "1 个客户会移除该标签" in page
    response = client.post(reverse("tag_edit", args=[tag.pk]), {"action": "delete"}, follow=True)
    assert response.status_code == 200
    assert any("客户本身没有被删除" in m for m in _messages(response))
    assert not Tag.objects.filter(pk=tag.pk).exists()
    assert not CustomerTag.objects.filter(customer=customer).exists()
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_tag_with_children_cannot_be_deleted(client, org):
    parent = services.tag_create(actor=org.admin, name="行业/制造业").parent
    _login(client, org.admin)
    response = client.post(reverse("tag_edit", args=[parent.pk]), {"action": "delete"})
    assert response.status_code == 400
    assert "请先删除或移走下级标签" in response.content.decode()
    assert Tag.objects.filter(pk=parent.pk).exists()


# ---------------------------------------------------------------- custom fields


def _field_post(**overrides):
    data = {
        "entity": "customer",
        "key": "employees",
        "label": "员工人数",
        "type": "number",
        "choices": "",
        "help_text": "",
        "required_from": "",
        "filterable": "on",
        "order": "0",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_custom_field_create_edit_and_type_change_refused(client, org):
    _login(client, org.admin)
    url = reverse("custom_field_list") + "?entity=customer"
    response = client.post(url, _field_post(type="choice", key="scale", label="规模"))
    assert response.status_code == 400
    assert response.context["form"].errors["choices"] == ["单选/多选字段至少需要一个选项"]
    response = client.post(
        url,
        _field_post(
            type="choice",
            key="scale",
            label="规模",
            choices="大型\n中型\n小型",
            required_from="won",
        ),
    )
    assert response.status_code == 302
    field = CustomFieldDef.objects.get(entity="customer", key="scale")
    assert field.choices == ["大型", "中型", "小型"]
    assert field.required_from == "won"
    # A duplicate key is refused next to the key field.
    response = client.post(url, _field_post(type="text", key="scale", label="规模2"))
    assert response.context["form"].errors["key"] == ["该对象已有同名字段键"]

    edit = reverse("custom_field_edit", args=[field.pk])
    response = client.post(
        edit,
        _field_post(
            type="choice", label="企业规模", choices="大型\n中型\n小型", version=field.version
        ),
    )
    assert response.status_code == 302
    field.refresh_from_db()
    assert field.label == "企业规模"

    # Once a customer holds a value, the type cannot change; the message sits on "type".
    services.customer_create(
        actor=org.zhang_wei, data={"name": "无锡电子有限公司"}, custom={"scale": "大型"}
    )
    response = client.post(
        edit,
        _field_post(type="text", label="企业规模", choices="", version=field.version),
    )
    assert response.status_code == 400
    assert response.context["form"].errors["type"] == [
        "已有数据的字段不能改变类型；可停用后新建字段"
    ]
    field.refresh_from_db()
    assert field.type == "choice"


def test_custom_field_stale_edit_keeps_input(client, org):
    field = services_field(org)
    _login(client, org.admin)
    edit = reverse("custom_field_edit", args=[field.pk])
    stale_version = field.version
    client.post(edit, _field_post(label="人数", version=stale_version))
    response = client.post(edit, _field_post(label="我的名称", version=stale_version))
    assert response.status_code == 400
    form = response.context["form"]
    assert form["label"].value() == "我的名称"
    assert form.non_field_errors()
    field.refresh_from_db()
    assert field.label == "人数"
    # Saving again goes against the current version and wins, on purpose.
    response = client.post(edit, form.data)
    assert response.status_code == 302
    field.refresh_from_db()
    assert field.label == "我的名称"


# ---------------------------------------------------------------- settings and pool rules


def _settings_post(**overrides):
    data = {
        "action": "save",
        "levels": "A\nB\nC\nD",
        "completeness_fields": ["industry", "contact"],
        "enabled": "on",
        "protection_days": "30",
        "no_follow_up_days": "30",
        "no_won_days": "180",
        "claim_limit": "200",
    }
    data.update(overrides)
    return data


def _aged(customer, *, owned_days: int, follow_up_days: int | None):
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(
        owned_since=now - dt.timedelta(days=owned_days),
        last_follow_up_at=now - dt.timedelta(days=follow_up_days) if follow_up_days else None,
    )


def test_settings_update_is_audited(client, org):
    _login(client, org.admin)
    before = AuditEntry.objects.filter(entity="setting").count()
    response = client.post(reverse("customer_settings"), _settings_post(claim_limit="5"))
    assert response.status_code == 302
    assert config.levels() == ["A", "B", "C", "D"]
    assert config.completeness_fields() == ["industry", "contact"]
    assert config.pool_rules()["claim_limit"] == 5
    assert AuditEntry.objects.filter(entity="setting").count() >= before + 3
    # A service refusal lands on the field it names.
    response = client.post(reverse("customer_settings"), _settings_post(levels="A\nA"))
    assert response.status_code == 400
    assert response.context["form"].errors["levels"]


def test_pool_preview_counts_at_a_chosen_time(client, org):
    old = _customer(org.zhang_wei, "杭州老客户有限公司")
    _customer(org.zhang_wei, "杭州新客户有限公司")
    _aged(old, owned_days=60, follow_up_days=45)
    _login(client, org.admin)
    response = client.get(reverse("customer_settings"))
    assert response.context["preview"]["count"] == 1
    assert "杭州老客户有限公司" in response.content.decode()
    twenty_days_ago = timezone.localtime() - dt.timedelta(days=20)
    response = client.get(
        reverse("customer_settings"), {"as_of": twenty_days_ago.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.context["preview"]["count"] == 0
    in_a_year = timezone.localtime() + dt.timedelta(days=365)
    response = client.get(
        reverse("customer_settings"), {"as_of": in_a_year.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.context["preview"]["count"] == 2
    # Previewing changes nothing.
    assert Customer.objects.filter(owner__isnull=True).count() == 0


def test_pool_apply_releases_old_unfollowed_customers(client, org):
    old = _customer(org.zhang_wei, "宁波旧客户有限公司")
    fresh = _customer(org.zhang_wei, "宁波新客户有限公司")
    _aged(old, owned_days=90, follow_up_days=None)
    _aged(fresh, owned_days=90, follow_up_days=3)
    _login(client, org.admin)
    response = client.post(reverse("customer_settings"), {"action": "apply"}, follow=True)
    assert "已按规则退回公海 1 个客户" in _messages(response)
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.owner_id is None and "未跟进" in old.pool_reason
    assert fresh.owner_id == org.zhang_wei.pk


# ---------------------------------------------------------------- handover


def test_handover_preview_execute_undo(client, org):
    customers = [
        _customer(
            org.zhang_wei,
            f"上海客户{i}有限公司",
            contacts=[{"name": f"联系人{i}", "mobile": f"1391234000{i}"}],
        )
        for i in range(3)
    ]
    _login(client, org.admin)
    url = reverse("handover")
    form = {"from_user": org.zhang_wei.pk, "to_users": [org.li_na.pk, org.wang_fang.pk]}
    response = client.post(url, {**form, "action": "preview"})
    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan["total"] == 3 and plan["contacts"] == 3
    per_user = {r["user"].pk: (r["customers"], r["contacts"]) for r in plan["receivers"]}
    assert per_user == {org.li_na.pk: (2, 2), org.wang_fang.pk: (1, 1)}
    assert Customer.objects.filter(owner=org.zhang_wei).count() == 3  # preview changes nothing

    response = client.post(url, {**form, "action": "execute", "reason": "离职"}, follow=True)
    assert any("交接完成" in m for m in _messages(response))
    assert Customer.objects.filter(owner=org.zhang_wei).count() == 0
    batch = HandoverBatch.objects.get()
    assert batch.summary["customers"] == 3

    # One customer changes owner meanwhile: the undo leaves it alone.
    moved = Customer.objects.filter(owner=org.li_na).first()
    Customer.objects.filter(pk=moved.pk).update(owner=org.huang_qiang)
    response = client.post(reverse("handover_undo", args=[batch.pk]), follow=True)
    assert any("2 个客户还给了" in m and "1 个客户的负责人已变更" in m for m in _messages(response))
    assert Customer.objects.filter(owner=org.zhang_wei).count() == 2
    assert Customer.objects.get(pk=moved.pk).owner_id == org.huang_qiang.pk
    page = response.content.decode()
    assert "已撤销" in page and "恢复 2，跳过 1" in page
    # Undoing twice is refused with a message, not an error page.
    response = client.post(reverse("handover_undo", args=[batch.pk]), follow=True)
    assert "该交接已撤销" in _messages(response)
    assert {c.pk for c in customers} >= {moved.pk}


def test_handover_refusal_shown_next_to_receivers(client, org):
    _login(client, org.admin)
    response = client.post(
        reverse("handover"),
        {"from_user": org.zhang_wei.pk, "to_users": [org.zhang_wei.pk], "action": "preview"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["to_users"] == ["接收人不能是交出人本人"]


# ---------------------------------------------------------------- collaboration


def test_collaboration_approve_makes_customer_visible(client, org):
    customer = _customer(org.zhang_wei, "温州阀门有限公司")
    req = services.collaboration_request_create(
        actor=org.wang_fang, customer_id=customer.pk, reason="我也在跟进"
    )
    with pytest.raises(NotFound):
        customer_get(actor=org.wang_fang, customer_id=customer.pk)
    # The requester cannot decide their own request.
    _login(client, org.wang_fang)
    assert client.get(reverse("collaboration_inbox")).context["rows"] == []
    url = reverse("collaboration_decide", args=[req.pk])
    assert client.post(url, {"decision": "approve"}).status_code == 404

    _login(client, org.zhang_wei)
    page = client.get(reverse("collaboration_inbox")).content.decode()
    assert "温州阀门有限公司" in page and "我也在跟进" in page
    response = client.post(url, {"decision": "approve"}, follow=True)
    assert any("已同意" in m for m in _messages(response))
    assert customer_get(actor=org.wang_fang, customer_id=customer.pk).pk == customer.pk
    assert client.get(reverse("collaboration_inbox")).context["rows"] == []


def test_collaboration_reject_keeps_customer_hidden(client, org):
    customer = _customer(org.zhang_wei, "台州模具有限公司")
    req = services.collaboration_request_create(actor=org.wang_fang, customer_id=customer.pk)
    _login(client, org.li_na)  # zhang_wei's manager may decide too
    response = client.post(
        reverse("collaboration_decide", args=[req.pk]), {"decision": "reject"}, follow=True
    )
    assert response.status_code == 200
    with pytest.raises(NotFound):
        customer_get(actor=org.wang_fang, customer_id=customer.pk)
    assert (
        client.post(
            reverse("collaboration_decide", args=[999999]), {"decision": "reject"}
        ).status_code
        == 404
    )


def test_collaboration_home_card_only_when_pending(client, org):
    customer = _customer(org.zhang_wei, "嘉兴纺织有限公司")
    _login(client, org.zhang_wei)
    assert "待处理的协作申请" not in client.get(reverse("home")).content.decode()
    services.collaboration_request_create(actor=org.wang_fang, customer_id=customer.pk)
    page = client.get(reverse("home")).content.decode()
    assert "待处理的协作申请" in page and reverse("collaboration_inbox") in page


# ---------------------------------------------------------------- pool page


def _pooled(actor, name, **data):
    customer = _customer(actor, name, **data)
    return services.customer_release(actor=actor, customer=customer, reason="暂无需求")


def test_pool_list_filters_rules_and_fragment(client, org):
    tag = services.tag_create(actor=org.admin, name="行业/制造业")
    a = _pooled(org.zhang_wei, "合肥汽车配件有限公司", level="A", province="安徽", city="合肥")
    services.customers_tag(actor=org.admin, customer_ids=[a.pk], tags=[tag.parent])
    _pooled(org.zhang_wei, "南京软件有限公司", level="B", province="江苏", city="南京")
    _customer(org.zhang_wei, "已有负责人有限公司")
    _login(client, org.wang_fang)
    response = client.get(reverse("pool_list"))
    names = [r["values"]["name"] for r in response.context["rows"]]
    assert sorted(names) == ["南京软件有限公司", "合肥汽车配件有限公司"]
    page = response.content.decode()
    assert "每人最多拥有 200 个客户，您当前拥有 0 个" in page
    assert "30 天未跟进" in page
    response = client.get(reverse("pool_list"), {"level": "A"})
    assert [r["obj"].pk for r in response.context["rows"]] == [a.pk]
    response = client.get(reverse("pool_list"), {"tag": tag.parent.pk, "province": "安徽"})
    assert [r["obj"].pk for r in response.context["rows"]] == [a.pk]
    response = client.get(reverse("pool_list"), {"city": "合肥"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and "合肥汽车配件有限公司" in body
    assert "南京软件有限公司" not in body


def test_pool_list_keyset_paging(client, org):
    for i in range(3):
        _pooled(org.zhang_wei, f"公海客户{i}有限公司")
    _login(client, org.zhang_wei)
    from crm.customers import admin_views

    first = client.get(reverse("pool_list"))
    assert len(first.context["rows"]) == 3 and first.context["next_url"] == ""
    original = admin_views.selectors.customer_list

    def small(**kwargs):
        return original(**{**kwargs, "limit": 2})

    admin_views.selectors.customer_list = small  # type: ignore[assignment]
    try:
        page1 = client.get(reverse("pool_list"))
        assert len(page1.context["rows"]) == 2 and "cursor=" in page1.context["next_url"]
        page2 = client.get(page1.context["next_url"])
        assert len(page2.context["rows"]) == 1
    finally:
        admin_views.selectors.customer_list = original  # type: ignore[assignment]


def test_claim_from_pool_respects_the_limit(client, org):
    services.customer_settings_update(actor=org.admin, pool={"claim_limit": 1})
    _customer(org.zhang_wei, "扬州已有客户有限公司")
    pooled = _pooled(org.wang_fang, "扬州公海客户有限公司")
    _login(client, org.zhang_wei)
    pool_url = reverse("pool_list")
    page = client.get(pool_url).content.decode()
    assert "每人最多拥有 1 个客户，您当前拥有 1 个" in page
    assert reverse("customer_claim", args=[pooled.pk]) in page
    response = client.post(
        reverse("customer_claim", args=[pooled.pk]), {"next": pool_url}, follow=True
    )
    assert response.redirect_chain[-1][0].startswith(pool_url)
    assert any("已达上限 1 个" in m for m in _messages(response))
    assert Customer.objects.get(pk=pooled.pk).owner_id is None
    # Under the limit, the claim goes through and the customer leaves the pool.
    _login(client, org.li_na)
    response = client.post(
        reverse("customer_claim", args=[pooled.pk]), {"next": pool_url}, follow=True
    )
    assert Customer.objects.get(pk=pooled.pk).owner_id == org.li_na.pk
    assert pooled.pk not in [r["obj"].pk for r in response.context["rows"]]


def test_pool_list_query_count_does_not_grow_with_rows(client, org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tag = services.tag_create(actor=org.admin, name="批量")
    _login(client, org.wang_fang)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("pool_list")).status_code == 200
        return len(ctx.captured_queries)

    first = _pooled(org.zhang_wei, "常州一号有限公司")
    services.customers_tag(actor=org.admin, customer_ids=[first.pk], tags=[tag])
    few = count()
    for i in range(6):
        c = _pooled(org.zhang_wei, f"常州{i}号机电有限公司")
        services.customers_tag(actor=org.admin, customer_ids=[c.pk], tags=[tag])
    assert count() == few
