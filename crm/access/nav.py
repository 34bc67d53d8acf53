"""Navigation entries and home-page cards of the organisation and administration pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access.models import Department
from crm.access.selectors import org_counts
from crm.access.visibility import can, is_admin
from crm.audit.selectors import audit_count_since
from crm.core.home import HomeCard, home_card_provider
from crm.core.navigation import NavItem, nav_register


def can_see_org(user: Any) -> bool:
    return can(user, "view", Department)


nav_register(
    NavItem(
        key="org",
        label=gettext_lazy("组织架构"),
        url_name="org",
        icon="sitemap",
        visible=can_see_org,
        order=900,
    )
)
# The organisation comes first in the administration menu, the audit log and the bin last;
# other apps' settings pages go in between (orders 100-800).
for _order, _key, _label, _url, _icon in [
    (10, "admin_users", gettext_lazy("用户"), "user_admin_list", "users"),
    (20, "admin_departments", gettext_lazy("部门"), "department_admin_list", "hierarchy"),
    (30, "admin_roles", gettext_lazy("角色与权限"), "role_admin_list", "shield-lock"),
    (900, "admin_audit", gettext_lazy("审计日志"), "audit_list", "list-search"),
    (910, "admin_trash", gettext_lazy("回收站"), "trash", "trash"),
]:
    nav_register(
        NavItem(
            key=_key,
            label=_label,
            url_name=_url,
            icon=_icon,
            visible=is_admin,
            order=_order,
            section="admin",
        )
    )


def org_cards(user: Any) -> list[HomeCard]:
    if not can_see_org(user):
        return []
    departments, members = org_counts(actor=user)
    return [
        HomeCard(
            title=_("组织架构"),
            value=_("%(d)d 个部门 / %(m)d 名成员") % {"d": departments, "m": members},
            url=reverse("org"),
            hint=_("部门、负责人和成员"),
            icon="sitemap",
        )
    ]


def admin_cards(user: Any) -> list[HomeCard]:
    if not is_admin(user):
        return []
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    count = audit_count_since(actor=user, since=start)
    return [
        HomeCard(
            title=_("审计日志"),
            value=_("今天 %d 条") % count,
            url=f"{reverse('audit_list')}?date_from={today.isoformat()}",
            hint=_("登录、修改、权限变更，均可追溯"),
            icon="list-search",
        )
    ]


home_card_provider(900, org_cards)
home_card_provider(910, admin_cards)
