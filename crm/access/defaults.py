"""The standard roles a new installation starts with; administrators change them in the UI.

Domain apps add their entity's default grants with `default_grants_add` (from their
entities.py), so a new entity arrives with sensible rights for each standard role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.access.models import Role


@dataclass
class RoleSpec:
    code: str
    name: Any
    description: Any
    is_admin: bool = False
    # entity -> (actions, scope, edit_scope)
    grants: dict[str, tuple[list[str], str, str]] = field(default_factory=dict)
    # (entity, field) -> access
    field_rules: dict[tuple[str, str], str] = field(default_factory=dict)


ORG_READ = (["view"], "all", "none")

STANDARD_ROLES: dict[str, RoleSpec] = {
    "admin": RoleSpec(
        "admin", _("系统管理员"), _("全部权限；管理组织、角色、字段权限与配置"), True
    ),
    "sales_manager": RoleSpec(
        "sales_manager", _("销售主管"), _("查看本部门及下级部门的数据；下属记录默认只读")
    ),
    "sales_rep": RoleSpec("sales_rep", _("销售代表"), _("管理本人负责的客户与商机")),
    "marketing": RoleSpec("marketing", _("市场"), _("线索、标签与营销活动")),
    "service": RoleSpec("service", _("客服"), _("工单与客户历史")),
    "finance": RoleSpec("finance", _("财务"), _("合同金额与回款，只读")),
}
for _spec in STANDARD_ROLES.values():
    for _entity in ("user", "department", "role"):
        _spec.grants[_entity] = ORG_READ


def default_grants_add(
    entity: str,
    grants: dict[str, tuple[list[str], str, str]],
    field_rules: dict[tuple[str, str], dict[str, str]] | None = None,
) -> None:
    """grants: role code -> (actions, scope, edit_scope);
    field_rules: (entity, field) -> {role code: access}."""
    for code, grant in grants.items():
        STANDARD_ROLES[code].grants[entity] = grant
    for key, per_role in (field_rules or {}).items():
        for code, access in per_role.items():
            STANDARD_ROLES[code].field_rules[key] = access


def roles_ensure() -> dict[str, Role]:
    """Create missing standard roles and their missing grants; never overwrites admin edits."""
    from crm.access.models import FieldRule, RoleGrant

    roles: dict[str, Role] = {}
    for spec in STANDARD_ROLES.values():
        role, _created = Role.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": str(spec.name),
                "description": str(spec.description),
                "is_admin": spec.is_admin,
            },
        )
        roles[spec.code] = role
        for entity, (actions, scope, edit_scope) in spec.grants.items():
            RoleGrant.objects.get_or_create(
                role=role,
                entity=entity,
                defaults={"actions": actions, "scope": scope, "edit_scope": edit_scope},
            )
        for (entity, fld), access in spec.field_rules.items():
            FieldRule.objects.get_or_create(
                role=role, entity=entity, field=fld, defaults={"access": access}
            )
    return roles
