"""Organisation (departments, users, roles) and the permission data: grants and field rules."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import TimeStampedModel, VersionedModel


class Action(models.TextChoices):
    VIEW = "view", _("查看")
    CREATE = "create", _("新建")
    EDIT = "edit", _("编辑")
    DELETE = "delete", _("删除")
    EXPORT = "export", _("导出")
    IMPORT = "import", _("导入")
    ADMINISTER = "administer", _("管理")


class Scope(models.TextChoices):
    """Which records a grant reaches, narrowest first (the order matters: see SCOPE_RANK)."""

    NONE = "none", _("无")
    OWN = "own", _("本人")
    DEPARTMENT = "department", _("本部门")
    SUBTREE = "subtree", _("本部门及下级部门")
    ALL = "all", _("全部")


SCOPE_RANK = {s: i for i, s in enumerate(Scope.values)}


class FieldAccess(models.TextChoices):
    """Field-level security, most restrictive first (the order matters: see ACCESS_RANK)."""

    HIDDEN = "hidden", _("隐藏")
    MASKED = "masked", _("脱敏")
    REVEAL = "reveal", _("脱敏（可查看明文，记录日志）")
    READONLY = "readonly", _("只读")
    EDITABLE = "editable", _("可编辑")


ACCESS_RANK = {a: i for i, a in enumerate(FieldAccess.values)}


class Department(TimeStampedModel, VersionedModel):
    name = models.CharField(_("部门名称"), max_length=100)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级部门"),
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_departments",
        verbose_name=_("负责人"),
    )
    # Materialised path "/1/4/9/": the subtree of a department is path__startswith.
    path = models.CharField(max_length=500, db_index=True, editable=False, default="/")
    sort = models.IntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["path", "sort", "id"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="department_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return max(self.path.count("/") - 2, 0)


class Role(TimeStampedModel, VersionedModel):
    code = models.SlugField(_("代码"), max_length=50, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    is_admin = models.BooleanField(
        _("系统管理员"), default=False, help_text=_("拥有全部权限，可管理组织、角色与配置")
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("角色")
        verbose_name_plural = _("角色")

    def __str__(self) -> str:
        return self.name


class RoleGrant(models.Model):
    """What a role may do to one entity, and on which records."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="grants")
    entity = models.CharField(_("对象"), max_length=50)
    actions = models.JSONField(_("操作"), default=list)
    scope = models.CharField(_("可见范围"), max_length=20, choices=Scope.choices, default=Scope.OWN)
    edit_scope = models.CharField(
        _("可编辑范围"),
        max_length=20,
        choices=Scope.choices,
        default=Scope.OWN,
        help_text=_("在可见范围内，哪些记录可编辑/删除；主管默认只读下属记录"),
    )

    class Meta:
        verbose_name = _("角色授权")
        constraints = [
            models.UniqueConstraint(fields=["role", "entity"], name="rolegrant_unique_entity"),
        ]

    def __str__(self) -> str:
        return f"{self.role} · {self.entity}"


class FieldRule(models.Model):
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="field_rules")
    entity = models.CharField(_("对象"), max_length=50)
    field = models.CharField(_("字段"), max_length=100)
    access = models.CharField(_("访问级别"), max_length=20, choices=FieldAccess.choices)

    class Meta:
        verbose_name = _("字段权限")
        constraints = [
            models.UniqueConstraint(
                fields=["role", "entity", "field"], name="fieldrule_unique_field"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} · {self.entity}.{self.field} = {self.access}"


class CrmUserManager(UserManager):
    pass


class User(AbstractUser, VersionedModel):
    display_name = models.CharField(_("姓名"), max_length=100, blank=True)
    mobile = models.CharField(_("手机"), max_length=32, blank=True)
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name=_("部门"),
    )
    manager = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
        verbose_name=_("直属上级"),
    )
    roles = models.ManyToManyField(Role, blank=True, related_name="users", verbose_name=_("角色"))

    objects = CrmUserManager()  # type: ignore[misc]  # django-stubs: AbstractUser.objects is a ClassVar

    class Meta:
        ordering = ["id"]
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def name(self) -> str:
        return self.display_name or self.username


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 is stored, the value is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens"
    )
    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
