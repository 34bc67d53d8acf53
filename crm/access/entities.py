"""The organisation entities, registered with the permission layer."""

from django.utils.translation import gettext_lazy as _

from crm.access.models import Department, Role, User
from crm.access.registry import Entity, FieldSpec, register

register(
    Entity(
        key="user",
        model=User,
        label=_("用户"),
        owner_field=None,
        fields=(
            FieldSpec("username", _("用户名")),
            FieldSpec("display_name", _("姓名")),
            FieldSpec("email", _("邮箱"), kind="email"),
            FieldSpec("mobile", _("手机"), kind="phone"),
        ),
        actions=("view", "create", "edit", "delete", "export", "import", "administer"),
    )
)
register(
    Entity(
        key="department",
        model=Department,
        label=_("部门"),
        owner_field=None,
        fields=(FieldSpec("name", _("部门名称")),),
        actions=("view", "create", "edit", "delete", "administer"),
    )
)
register(
    Entity(
        key="role",
        model=Role,
        label=_("角色"),
        owner_field=None,
        fields=(FieldSpec("name", _("名称")), FieldSpec("description", _("说明"))),
        actions=("view", "create", "edit", "delete", "administer"),
    )
)
