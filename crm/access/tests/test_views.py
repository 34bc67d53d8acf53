"""The organisation and administration pages: wiring, 404s, forms, stale edits, query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.access.models import FieldRule, RoleGrant, User
from crm.access.services import user_update
from crm.access.tests.factories import UserFactory
from crm.audit.models import AuditEntry

ADMIN_PAGES = [
    ("user_admin_list", {}),
    ("user_admin_create", {}),
    ("department_admin_list", {}),
    ("department_admin_create", {}),
    ("role_admin_list", {}),
    ("role_admin_create", {}),
    ("audit_list", {}),
]


def _detail_pages(org):
    sales_rep = org.roles["sales_rep"]
    return [
        reverse("user_admin_edit", args=[org.zhang_wei.pk]),
        reverse("user_admin_password", args=[org.zhang_wei.pk]),
        reverse("department_admin_edit", args=[org.east.pk]),
        reverse("role_admin_edit", args=[sales_rep.pk]),
        reverse("role_admin_grants", args=[sales_rep.pk]),
        reverse("role_admin_fields", args=[sales_rep.pk]),
    ]


def _admin_urls(org):
    return [reverse(name, kwargs=kw) for name, kw in ADMIN_PAGES] + _detail_pages(org)


def test_admin_pages_render_for_admin(client, org):
    client.force_login(org.admin)
    for url in _admin_urls(org):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"<html" in response.content


@pytest.mark.parametrize("who", ["zhang_wei", "li_na", "liu_yang"])
def test_admin_pages_are_404_for_everyone_else(client, org, who):
    client.force_login(getattr(org, who))
    for url in _admin_urls(org):
        assert client.get(url).status_code == 404, url
    posts = [
        reverse("user_admin_active", args=[org.zhang_wei.pk]),
        reverse("department_admin_delete", args=[org.north.pk]),
        reverse("role_admin_delete", args=[org.roles["finance"].pk]),
        reverse("audit_verify"),
    ]
    for url in posts:
        assert client.post(url).status_code == 404, url


def test_admin_pages_need_login(client, org):
    response = client.get(reverse("user_admin_list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


# ---------------------------------------------------------------- organisation page


def test_org_page_for_every_user(client, org):
    client.force_login(org.zhang_wei)
    response = client.get(reverse("org"))
    assert response.status_code == 200
    body = response.content.decode()
    for name in ("华东销售部", "华南销售部", "财务部"):
        assert name in body
    assert org.li_na.display_name in body
    # Non-administrators see no administration links.
    assert reverse("user_admin_list") not in body


def test_org_page_department_lists_its_members_including_subdepartments(client, org):
    client.force_login(org.zhang_wei)
    response = client.get(reverse("org"), {"department": org.sales.pk})
    body = response.content.decode()
    assert org.zhang_wei.display_name in body  # 华东 is under 销售中心
    assert org.zhao_min.display_name not in body  # 市场部 is not


def test_org_page_search_and_htmx_fragment(client, org):
    client.force_login(org.zhang_wei)
    response = client.get(
        reverse("org"),
        {"q": org.wang_fang.display_name},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="org-body",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert org.wang_fang.display_name in body
    assert org.zhang_wei.display_name not in body


def test_org_page_hides_inactive_members_unless_asked(client, org):
    User.objects.filter(pk=org.liu_yang.pk).update(is_active=False)
    client.force_login(org.admin)
    assert org.liu_yang.display_name not in client.get(reverse("org")).content.decode()
    shown = client.get(reverse("org"), {"inactive": "1"}).content.decode()
    assert org.liu_yang.display_name in shown


def test_navigation_and_home_cards(client, org):
    client.force_login(org.zhang_wei)
    home = client.get(reverse("home")).content.decode()
    assert reverse("org") in home
    assert "个部门" in home
    assert reverse("audit_list") not in home
    client.force_login(org.admin)
    home = client.get(reverse("home")).content.decode()
    for name in ("user_admin_list", "department_admin_list", "role_admin_list", "audit_list"):
        assert reverse(name) in home
    assert reverse("trash") in home
    assert "今天" in home


# ---------------------------------------------------------------- users


def test_user_list_filters(client, org):
    client.force_login(org.admin)
    response = client.get(reverse("user_admin_list"), {"department": org.sales.pk})
    body = response.content.decode()
    assert org.zhang_wei.username in body  # sub-department included
    assert org.zhao_min.username not in body
    response = client.get(reverse("user_admin_list"), {"q": "wang.f"})
    assert org.wang_fang.username in response.content.decode()
    assert org.zhang_wei.username not in response.content.decode()
    User.objects.filter(pk=org.liu_yang.pk).update(is_active=False)
    response = client.get(reverse("user_admin_list"), {"active": "0"})
    assert org.liu_yang.username in response.content.decode()
    assert org.zhang_wei.username not in response.content.decode()


def test_user_list_htmx_fragment_and_next_page(client, org):
    for i in range(55):
        UserFactory(username=f"bulk{i:02d}", department=org.north)
    client.force_login(org.admin)
    response = client.get(
        reverse("user_admin_list"),
        {"department": org.north.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="user-results",
    )
    body = response.content.decode()
    assert "<html" not in body
    assert "cursor=" in body
    assert f"department={org.north.pk}" in body  # the next-page link keeps the filter
    page = response.context["page"]
    second = client.get(
        reverse("user_admin_list"), {"department": org.north.pk, "cursor": page.next}
    )
    assert len(page.items) + len(second.context["page"].items) == 55


def test_user_list_query_count_is_bounded(client, org, django_assert_max_num_queries):
    client.force_login(org.admin)
    client.get(reverse("user_admin_list"))  # warm the session
    with django_assert_max_num_queries(10):
        small = client.get(reverse("user_admin_list"))
    assert small.status_code == 200
    roles = list(org.roles.values())
    for i in range(40):
        UserFactory(
            username=f"many{i:02d}", department=org.east, manager=org.li_na, roles=roles[:2]
        )
    with django_assert_max_num_queries(10):
        big = client.get(reverse("user_admin_list"))
    assert big.status_code == 200
    assert "many39" in big.content.decode()


def test_create_user_through_the_form_is_audited(client, org):
    client.force_login(org.admin)
    response = client.post(
        reverse("user_admin_create"),
        {
            "username": "xu.qing",
            "password": "Long-enough-pass-9",
            "display_name": "徐青",
            "email": "xu.qing@example.com",
            "mobile": "13900001111",
            "department": org.east.pk,
            "manager": org.li_na.pk,
            "roles": [org.roles["sales_rep"].pk],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="xu.qing")
    assert user.display_name == "徐青"
    assert user.department == org.east
    assert user.manager == org.li_na
    assert list(user.roles.values_list("code", flat=True)) == ["sales_rep"]
    assert user.check_password("Long-enough-pass-9")
    entry = AuditEntry.objects.get(action="create", entity="user", object_id=str(user.pk))
    assert entry.actor_name == "admin"


def test_create_user_error_is_shown_next_to_the_field_and_input_kept(client, org):
    client.force_login(org.admin)
    response = client.post(
        reverse("user_admin_create"),
        {"username": "zhang.wei", "display_name": "另一个张伟", "is_active": "on"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "用户名已被使用" in body
    assert "另一个张伟" in body


def test_edit_user_through_the_form_is_audited(client, org):
    client.force_login(org.admin)
    user = org.zhang_wei
    response = client.post(
        reverse("user_admin_edit", args=[user.pk]),
        {
            "display_name": "张伟伟",
            "email": user.email,
            "mobile": "13800001234",
            "department": org.south.pk,
            "manager": org.huang_qiang.pk,
            "roles": [org.roles["sales_rep"].pk, org.roles["marketing"].pk],
            "is_active": "on",
            "version": user.version,
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.display_name == "张伟伟"
    assert user.department == org.south
    assert user.manager == org.huang_qiang
    assert set(user.roles.values_list("code", flat=True)) == {"sales_rep", "marketing"}
    update = AuditEntry.objects.get(action="update", entity="user", object_id=str(user.pk))
    assert update.changes["display_name"][1] == "张伟伟"
    assert AuditEntry.objects.filter(
        action="permission", entity="user", object_id=str(user.pk)
    ).exists()


def test_stale_user_edit_keeps_input_and_says_what_changed(client, org):
    client.force_login(org.admin)
    user = org.zhang_wei
    started_from = user.version
    # Someone else saves first.
    other = User.objects.get(pk=org.admin.pk)
    user_update(
        actor=other,
        user=User.objects.get(pk=user.pk),
        expected_version=started_from,
        email="changed.by.someone@example.com",
    )
    post = {
        "display_name": "我刚输入的名字",
        "email": user.email,
        "mobile": "13811112222",
        "department": org.east.pk,
        "manager": org.li_na.pk,
        "roles": [org.roles["sales_rep"].pk],
        "is_active": "on",
        "version": started_from,
    }
    response = client.post(reverse("user_admin_edit", args=[user.pk]), post)
    assert response.status_code == 400
    body = response.content.decode()
    assert "该记录已被他人修改" in body
    assert "我刚输入的名字" in body  # nothing typed is lost
    assert "13811112222" in body
    assert "changed.by.someone@example.com" in body  # the other person's change is shown
    assert response.context["subject"].display_name == user.display_name  # heading: stored name
    user.refresh_from_db()
    assert user.display_name != "我刚输入的名字"
    # The form now carries the current version: saving again is a deliberate overwrite.
    form = response.context["form"]
    assert str(form["version"].value()) == str(user.version)
    post["version"] = user.version
    assert client.post(reverse("user_admin_edit", args=[user.pk]), post).status_code == 302
    user.refresh_from_db()
    assert user.display_name == "我刚输入的名字"


def test_admin_resets_a_password(client, org):
    client.force_login(org.admin)
    url = reverse("user_admin_password", args=[org.zhang_wei.pk])
    mismatch = client.post(url, {"new_password": "New-pass-2026-x", "new_password2": "nope"})
    assert mismatch.status_code == 400
    response = client.post(
        url, {"new_password": "New-pass-2026-x", "new_password2": "New-pass-2026-x"}
    )
    assert response.status_code == 302
    org.zhang_wei.refresh_from_db()
    assert org.zhang_wei.check_password("New-pass-2026-x")
    assert AuditEntry.objects.filter(
        action="update", entity="user", object_id=str(org.zhang_wei.pk), changes__has_key="password"
    ).exists()


def test_deactivate_and_reactivate(client, org):
    client.force_login(org.admin)
    user = org.wang_fang
    url = reverse("user_admin_active", args=[user.pk])
    response = client.post(url, {"active": "0", "version": user.version})
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active
    client.post(url, {"active": "1", "version": user.version})
    user.refresh_from_db()
    assert user.is_active
    assert AuditEntry.objects.filter(action="update", object_id=str(user.pk)).count() == 2


def test_cannot_deactivate_oneself(client, org):
    client.force_login(org.admin)
    url = reverse("user_admin_active", args=[org.admin.pk])
    response = client.post(url, {"active": "0", "version": org.admin.version}, follow=True)
    assert "不能停用自己的账号" in response.content.decode()
    org.admin.refresh_from_db()
    assert org.admin.is_active


# ---------------------------------------------------------------- departments


def test_create_department(client, org):
    client.force_login(org.admin)
    response = client.post(
        reverse("department_admin_create"),
        {"name": "西南销售部", "parent": org.sales.pk, "manager": org.director.pk, "sort": 5},
    )
    assert response.status_code == 302
    dept = org.sales.children.get(name="西南销售部")
    assert dept.path.startswith(org.sales.path)
    assert dept.manager == org.director


def test_department_move_under_own_subtree_is_refused_with_the_services_message(client, org):
    client.force_login(org.admin)
    response = client.post(
        reverse("department_admin_edit", args=[org.sales.pk]),
        {
            "name": org.sales.name,
            "parent": org.east.pk,
            "sort": 0,
            "is_active": "on",
            "version": org.sales.version,
        },
    )
    assert response.status_code == 400
    assert "不能把部门移到它自己或它的下级部门之下" in response.content.decode()
    org.sales.refresh_from_db()
    assert org.sales.parent == org.company


def test_department_move(client, org):
    client.force_login(org.admin)
    response = client.post(
        reverse("department_admin_edit", args=[org.north.pk]),
        {
            "name": "华北大区",
            "parent": org.company.pk,
            "sort": 3,
            "is_active": "on",
            "version": org.north.version,
        },
    )
    assert response.status_code == 302
    org.north.refresh_from_db()
    assert org.north.name == "华北大区"
    assert org.north.parent == org.company


def test_department_delete_refused_while_in_use_and_allowed_when_empty(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("department_admin_delete", args=[org.east.pk]), follow=True)
    assert "部门下还有成员" in response.content.decode()
    response = client.post(reverse("department_admin_delete", args=[org.north.pk]), follow=True)
    assert "已删除部门" in response.content.decode()
    assert not org.sales.children.filter(pk=org.north.pk).exists()


# ---------------------------------------------------------------- roles


def test_role_create_edit_delete(client, org):
    client.force_login(org.admin)
    response = client.post(
        reverse("role_admin_create"),
        {"name": "渠道经理", "code": "channel", "description": "渠道伙伴"},
    )
    assert response.status_code == 302
    role = org.roles["admin"].__class__.objects.get(code="channel")
    assert response["Location"] == reverse("role_admin_grants", args=[role.pk])
    response = client.post(
        reverse("role_admin_edit", args=[role.pk]),
        {"name": "渠道总监", "code": "channel", "description": "", "version": role.version},
    )
    assert response.status_code == 302
    role.refresh_from_db()
    assert role.name == "渠道总监"
    bad = client.post(
        reverse("role_admin_create"), {"name": "重复", "code": "channel", "description": ""}
    )
    assert bad.status_code == 400
    assert "角色代码已存在" in bad.content.decode()
    in_use = client.post(
        reverse("role_admin_delete", args=[org.roles["sales_rep"].pk]), follow=True
    )
    assert "还有用户使用此角色" in in_use.content.decode()
    client.post(reverse("role_admin_delete", args=[role.pk]))
    assert not role.__class__.objects.filter(pk=role.pk).exists()


def test_role_list_shows_user_counts(client, org):
    client.force_login(org.admin)
    response = client.get(reverse("role_admin_list"))
    roles = {r.code: r.user_count for r in response.context["roles"]}
    assert roles["sales_rep"] == 2
    assert roles["sales_manager"] == 3


def _matrix_post(grants):
    data: dict[str, object] = {}
    for entity, (actions, scope, edit_scope) in grants.items():
        data[f"{entity}-actions"] = actions
        data[f"{entity}-scope"] = scope
        data[f"{entity}-edit_scope"] = edit_scope
    return data


def test_grant_matrix_save_changes_role_grants(client, org):
    client.force_login(org.admin)
    role = org.roles["sales_rep"]
    url = reverse("role_admin_grants", args=[role.pk])
    page = client.get(url).content.decode()
    assert 'name="note-actions"' in page  # one row per registered entity
    response = client.post(
        url,
        _matrix_post(
            {
                "note": (["view", "create", "edit"], "department", "own"),
                "user": (["view"], "all", "none"),
                "department": (["view"], "all", "none"),
                "role": ([], "none", "none"),
            }
        ),
    )
    assert response.status_code == 302
    grant = RoleGrant.objects.get(role=role, entity="note")
    assert grant.actions == ["view", "create", "edit"]
    assert (grant.scope, grant.edit_scope) == ("department", "own")
    assert not RoleGrant.objects.filter(role=role, entity="role").exists()
    assert AuditEntry.objects.filter(
        action="permission", entity="role", object_id=str(role.pk)
    ).exists()


def test_grant_matrix_error_is_shown_on_its_row_and_input_kept(client, org):
    client.force_login(org.admin)
    role = org.roles["sales_rep"]
    url = reverse("role_admin_grants", args=[role.pk])
    response = client.post(
        url,
        _matrix_post(
            {
                "note": (["view", "export"], "own", "all"),  # edit scope wider than scope
                "user": (["view"], "all", "none"),
                "department": (["view"], "all", "none"),
                "role": (["view"], "all", "none"),
            }
        ),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "可编辑范围不能大于可见范围" in body
    row = next(r for r in response.context["rows"] if r.entity.key == "note")
    assert row.actions == ["view", "export"] and row.edit_scope == "all"
    assert not RoleGrant.objects.filter(role=role, entity="note").exists()


def test_field_rules_save(client, org):
    client.force_login(org.admin)
    role = org.roles["sales_rep"]
    url = reverse("role_admin_fields", args=[role.pk])
    page = client.get(url).content.decode()
    assert 'name="user.mobile"' in page
    response = client.post(url, {"user.mobile": "masked", "note.amount": "hidden"})
    assert response.status_code == 302
    assert FieldRule.objects.get(role=role, entity="user", field="mobile").access == "masked"
    assert FieldRule.objects.get(role=role, entity="note", field="amount").access == "hidden"
    client.post(url, {"user.mobile": "editable", "note.amount": "hidden"})
    assert not FieldRule.objects.filter(role=role, entity="user", field="mobile").exists()
    assert AuditEntry.objects.filter(action="permission", changes__field="mobile").count() == 2
