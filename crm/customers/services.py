"""Every write to customers, contacts, tags, ownership (pool, collaboration, handover)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access.fieldsec import present, require_writable
from crm.access.models import User
from crm.access.visibility import can, editable, is_admin, require, visible, visible_get
from crm.audit.services import audit_record, diff
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.core.recyclebin import record_delete
from crm.core.versioning import save_with_version
from crm.customers import config
from crm.customers.events import customer_changed
from crm.customers.models import (
    CollaborationRequest,
    Contact,
    ContactRole,
    Customer,
    CustomerCollaborator,
    CustomerStatus,
    CustomerTag,
    HandoverBatch,
    HandoverItem,
    RequestStatus,
    SavedView,
    Tag,
)
from crm.customers.normalize import (
    company_name_clean,
    company_name_key,
    credit_code_clean,
    email_normalize,
    phone_normalize,
)
from crm.customfields.services import custom_values_clean
from crm.search.services import search_index, search_index_many, search_remove
from crm.timeline.services import timeline_append

STATUS_ORDER = [s for s in CustomerStatus.values if s not in ("dormant", "lost")]

CUSTOMER_FIELDS = [
    "name",
    "credit_code",
    "industry",
    "level",
    "source",
    "province",
    "city",
    "address",
    "website",
    "status",
    "notes",
]
CONTACT_FIELDS = [
    "name",
    "title",
    "mobile",
    "phone",
    "email",
    "wechat",
    "birthday",
    "role",
    "notes",
]
TEXT_LIMITS = {
    "industry": 100,
    "source": 50,
    "province": 20,
    "city": 30,
    "address": 300,
    "website": 200,
    "notes": 5000,
    "title": 100,
    "wechat": 100,
}


# ----------------------------------------------------------------- cleaning


def _text(data: dict[str, Any], key: str) -> str:
    value = str(data.get(key) or "").strip()
    limit = TEXT_LIMITS.get(key)
    if limit and len(value) > limit:
        raise ValidationFailed(_("不能超过 %(n)d 个字符") % {"n": limit}, field=key)
    return value


def customer_clean(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate and normalise customer fields present in `data` (all of them unless partial)."""
    out: dict[str, Any] = {}
    keys = [k for k in CUSTOMER_FIELDS if not partial or k in data]
    for key in keys:
        if key == "name":
            out["name"] = company_name_clean(str(data.get("name") or ""))
        elif key == "credit_code":
            out["credit_code"] = credit_code_clean(str(data.get("credit_code") or ""))
        elif key == "level":
            level = str(data.get("level") or "").strip()
            if level and level not in config.levels():
                raise ValidationFailed(
                    _("客户级别只能是：%s") % "、".join(config.levels()), field="level"
                )
            out["level"] = level
        elif key == "status":
            status = str(data.get("status") or CustomerStatus.NEW)
            if status not in CustomerStatus.values:
                raise ValidationFailed(_("未知的客户状态"), field="status")
            out["status"] = status
        else:
            out[key] = _text(data, key)
    if "name" in out:
        out["name_key"] = company_name_key(out["name"])
    return out


def contact_clean(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keys = [k for k in CONTACT_FIELDS if not partial or k in data]
    for key in keys:
        if key == "name":
            name = str(data.get("name") or "").strip()
            if not name:
                raise ValidationFailed(_("请填写联系人姓名"), field="name")
            if len(name) > 100:
                raise ValidationFailed(_("姓名不能超过 100 个字符"), field="name")
            out["name"] = name
        elif key in ("mobile", "phone"):
            e164, raw = phone_normalize(str(data.get(key) or ""), field=key)
            out[key] = e164
            out[f"{key}_raw"] = raw
        elif key == "email":
            out["email"] = email_normalize(str(data.get("email") or ""))
        elif key == "birthday":
            value = data.get("birthday")
            if value in (None, ""):
                out["birthday"] = None
            elif isinstance(value, dt.date):
                out["birthday"] = value
            else:
                try:
                    out["birthday"] = dt.date.fromisoformat(str(value)[:10])
                except ValueError as exc:
                    raise ValidationFailed(_("生日格式应为 1980-01-31"), field="birthday") from exc
        elif key == "role":
            role = str(data.get("role") or ContactRole.OTHER)
            if role not in ContactRole.values:
                raise ValidationFailed(_("未知的联系人角色"), field="role")
            out["role"] = role
        else:
            out[key] = _text(data, key)
    return out


# ----------------------------------------------------------------- duplicates (报备)


@dataclass
class DuplicateHit:
    customer: Customer
    reasons: list[str] = field(default_factory=list)


def customer_duplicates_unscoped(
    *,
    name: str = "",
    credit_code: str = "",
    phones: list[str] | None = None,
    emails: list[str] | None = None,
    exclude_id: int | None = None,
) -> list[DuplicateHit]:
    """Existing customers matching any key, across ALL departments.

    Unscoped on purpose: registration (报备) must find a customer the rep cannot see, or two
    regions would own the same company. Callers show the hits through field security only.
    """
    hits: dict[int, DuplicateHit] = {}

    def add(qs: Any, reason: str) -> None:
        if exclude_id:
            qs = qs.exclude(pk=exclude_id)
        for customer in qs.select_related("owner", "owner__department")[:5]:
            hits.setdefault(customer.pk, DuplicateHit(customer)).reasons.append(reason)

    if credit_code:
        add(Customer.objects.filter(credit_code=credit_code), _("统一社会信用代码相同"))
    if name:
        add(Customer.objects.filter(name_key=company_name_key(name)), _("名称相同"))
    phone_list = [p for p in phones or [] if p]
    if phone_list:
        ids = Contact.objects.filter(Q(mobile__in=phone_list) | Q(phone__in=phone_list)).values(
            "customer_id"
        )
        add(Customer.objects.filter(pk__in=ids), _("联系人电话相同"))
    email_list = [e for e in emails or [] if e]
    if email_list:
        ids = Contact.objects.filter(email__in=email_list).values("customer_id")
        add(Customer.objects.filter(pk__in=ids), _("联系人邮箱相同"))
    return list(hits.values())


def duplicate_describe(actor: Any, hit: DuplicateHit) -> dict[str, Any]:
    """What a rep may learn about an existing customer they cannot necessarily see."""
    customer = hit.customer
    owner = customer.owner
    shown = present(actor, customer, ["name"]) if can(actor, "view", customer) else {}
    return {
        "id": customer.pk,
        "name": shown.get("name", customer.name),
        "owner": owner.name if owner else _("公海"),
        "department": str(owner.department) if owner and owner.department_id else "",
        "reasons": hit.reasons,
        "visible": can(actor, "view", customer),
        "in_pool": owner is None,
    }


# ----------------------------------------------------------------- completeness


def completeness_compute(customer: Customer, fields: list[str] | None = None) -> int:
    keys = fields if fields is not None else config.completeness_fields()
    if not keys:
        return 100
    contacts: list[Contact] | None = None

    def contact_rows() -> list[Contact]:
        nonlocal contacts
        if contacts is None:
            contacts = list(Contact.objects.filter(customer_id=customer.pk)) if customer.pk else []
        return contacts

    filled = 0
    for key in keys:
        if key == "contact":
            ok = bool(contact_rows())
        elif key == "contact_phone":
            ok = any(c.mobile or c.phone for c in contact_rows())
        elif key == "contact_email":
            ok = any(c.email for c in contact_rows())
        elif key == "decision_maker":
            ok = any(c.role == ContactRole.DECISION_MAKER for c in contact_rows())
        elif key == "tags":
            ok = bool(customer.pk) and CustomerTag.objects.filter(customer_id=customer.pk).exists()
        elif key.startswith("custom."):
            ok = (customer.custom or {}).get(key[7:]) not in (None, "", [])
        else:
            ok = bool(getattr(customer, key, ""))
        filled += 1 if ok else 0
    return round(filled * 100 / len(keys))


def _completeness_refresh(customer: Customer) -> None:
    score = completeness_compute(customer)
    if score != customer.completeness:
        Customer.all_objects.filter(pk=customer.pk).update(completeness=score)
        customer.completeness = score


def completeness_recompute_all(batch: int = 2000) -> int:
    """After an administrator changes the key fields (runs in the worker)."""
    fields = config.completeness_fields()
    done = 0
    last = 0
    while True:
        rows = list(Customer.all_objects.filter(pk__gt=last).order_by("pk")[:batch])
        if not rows:
            return done
        for c in rows:
            score = completeness_compute(c, fields)
            if score != c.completeness:
                Customer.all_objects.filter(pk=c.pk).update(completeness=score)
            done += 1
        last = rows[-1].pk


# ----------------------------------------------------------------- customers


def _owner_check(actor: Any, owner: User | None) -> None:
    if owner is None or owner.pk == getattr(actor, "pk", None):
        return
    if not owner.is_active:
        raise ValidationFailed(_("负责人已停用"), field="owner")
    if not (is_admin(actor) or owner.pk in _team_ids(actor)):
        raise PermissionDenied(_("只能把客户分配给自己或下属"), field="owner")


def _team_ids(actor: Any) -> set[int]:
    from crm.access.visibility import report_ids

    return set(report_ids(actor))


@transaction.atomic
def customer_create(
    *,
    actor: Any,
    data: dict[str, Any],
    contacts: list[dict[str, Any]] | None = None,
    tags: list[Tag] | None = None,
    custom: dict[str, Any] | None = None,
    owner: User | None = None,
    allow_duplicate: bool = False,
) -> Customer:
    """Register (报备) a customer: duplicate check across all departments first.

    A hit raises Conflict with the existing id (the API's 409); `allow_duplicate` is for an
    administrator who has looked at the hit and decided it is a different company.
    """
    require(actor, "create", Customer)
    clean = customer_clean(data)
    require_writable(actor, "customer", [k for k in CUSTOMER_FIELDS if data.get(k)])
    contact_rows = [contact_clean(c) for c in contacts or [] if any(c.values())]
    if contact_rows and not can(actor, "create", Contact):
        raise PermissionDenied(_("您没有新建联系人的权限"), field="contacts")
    owner = owner if owner is not None else actor
    _owner_check(actor, owner)
    if not (allow_duplicate and is_admin(actor)):
        hits = customer_duplicates_unscoped(
            name=clean["name"],
            credit_code=clean["credit_code"],
            phones=[c[k] for c in contact_rows for k in ("mobile", "phone") if c.get(k)],
            emails=[c["email"] for c in contact_rows if c.get("email")],
        )
        if hits:
            first = hits[0]
            info = duplicate_describe(actor, first)
            raise Conflict(
                _("客户已存在：%(name)s（负责人：%(owner)s %(dept)s；%(why)s）")
                % {
                    "name": info["name"],
                    "owner": info["owner"],
                    "dept": info["department"],
                    "why": "、".join(str(r) for r in first.reasons),
                },
                existing_id=first.customer.pk,
                field="name",
            )
    values = custom_values_clean(
        entity="customer", values=custom, status=clean["status"], status_order=STATUS_ORDER
    )
    now = timezone.now()
    customer = Customer.objects.create(
        **clean,
        custom=values,
        owner=owner,
        owned_since=now if owner else None,
        created_by=actor,
    )
    for i, row in enumerate(contact_rows):
        Contact.objects.create(customer=customer, is_primary=(i == 0), **row)
    if tags:
        CustomerTag.objects.bulk_create([CustomerTag(customer=customer, tag=t) for t in tags])
    _completeness_refresh(customer)
    customer_changed(
        customer=customer,
        actor=actor,
        kind="created",
        summary=_("创建了客户"),
        audit_action="create",
        data={"values": {k: v for k, v in clean.items() if v and k != "name_key"}},
    )
    for contact in customer.contacts.all():
        search_index(contact)
    return customer


def customer_quick_add(
    *,
    actor: Any,
    name: str,
    contact_name: str = "",
    mobile: str = "",
    phone: str = "",
    email: str = "",
    wechat: str = "",
) -> Customer:
    """Quick add: a name and one way to reach them, in one screen."""
    channels = {"mobile": mobile, "phone": phone, "email": email, "wechat": wechat}
    if not any(str(v or "").strip() for v in channels.values()):
        raise ValidationFailed(
            _("请至少填写一种联系方式（手机、电话、邮箱或微信）"), field="mobile"
        )
    contact = {k: v for k, v in channels.items() if v}
    contact["name"] = (contact_name or "").strip() or _("未命名联系人")
    return customer_create(actor=actor, data={"name": name}, contacts=[contact])


@transaction.atomic
def customer_update(
    *,
    actor: Any,
    customer: Customer,
    expected_version: int | None,
    data: dict[str, Any] | None = None,
    custom: dict[str, Any] | None = None,
) -> Customer:
    require(actor, "edit", customer)
    data = {k: v for k, v in (data or {}).items() if k in CUSTOMER_FIELDS}
    clean = customer_clean(data, partial=True)
    before = {k: getattr(customer, k) for k in [*CUSTOMER_FIELDS, "custom"]}
    changed_fields = [k for k in clean if k != "name_key" and clean[k] != before.get(k)]
    require_writable(actor, "customer", changed_fields)
    if "credit_code" in changed_fields and clean["credit_code"]:
        hits = customer_duplicates_unscoped(
            credit_code=clean["credit_code"], exclude_id=customer.pk
        )
        if hits:
            raise Conflict(
                _("已有客户使用该统一社会信用代码（负责人：%(owner)s）")
                % {"owner": duplicate_describe(actor, hits[0])["owner"]},
                existing_id=hits[0].customer.pk,
                field="credit_code",
            )
    status = clean.get("status", customer.status)
    values = custom_values_clean(
        entity="customer",
        values=custom,
        existing=customer.custom,
        status=status,
        status_order=STATUS_ORDER,
    )
    for key, value in clean.items():
        setattr(customer, key, value)
    customer.custom = values
    save_with_version(customer, expected_version=expected_version, fields=[*clean.keys(), "custom"])
    _completeness_refresh(customer)
    changes = diff(before, {k: getattr(customer, k) for k in before})
    if changes:
        customer_changed(customer=customer, actor=actor, kind="updated", changes=changes)
    return customer


@transaction.atomic
def customer_delete(*, actor: Any, customer: Customer) -> Customer:
    record_delete(actor=actor, obj=customer)
    search_remove("customer", customer.pk)
    for contact in customer.contacts.all():
        search_remove("contact", contact.pk)
    timeline_append(customer_id=customer.pk, kind="deleted", actor=actor, summary=_("删除到回收站"))
    return customer


def customer_after_restore(customer: Any, actor: Any) -> None:
    """Recycle-bin hook: back in the search index and on the timeline."""
    if isinstance(customer, Contact):
        search_index(customer)
        timeline_append(
            customer_id=customer.customer_id,
            kind="restored",
            actor=actor,
            summary=_("恢复了联系人 %s") % customer.name,
        )
        return
    search_index(customer)
    search_index_many(customer.contacts.all())
    timeline_append(
        customer_id=customer.pk, kind="restored", actor=actor, summary=_("从回收站恢复")
    )


# ----------------------------------------------------------------- contacts


@transaction.atomic
def contact_create(
    *, actor: Any, customer: Customer, data: dict[str, Any], custom: dict | None = None
) -> Contact:
    require(actor, "create", Contact)
    require(actor, "edit", customer)
    clean = contact_clean(data)
    require_writable(actor, "contact", [k for k in CONTACT_FIELDS if data.get(k)])
    values = custom_values_clean(entity="contact", values=custom)
    is_primary = not customer.contacts.exists()
    contact = Contact.objects.create(
        customer=customer, is_primary=is_primary, custom=values, **clean
    )
    _completeness_refresh(customer)
    customer_changed(
        customer=customer,
        actor=actor,
        kind="contact_added",
        summary=_("新增联系人 %s") % contact.name,
        audit_action="create",
        contact=contact,
    )
    return contact


@transaction.atomic
def contact_update(
    *,
    actor: Any,
    contact: Contact,
    expected_version: int | None,
    data: dict[str, Any] | None = None,
    custom: dict | None = None,
) -> Contact:
    require(actor, "edit", contact)
    data = {k: v for k, v in (data or {}).items() if k in CONTACT_FIELDS}
    clean = contact_clean(data, partial=True)
    before = {k: getattr(contact, k) for k in [*CONTACT_FIELDS, "custom"]}
    changed = [k for k in clean if not k.endswith("_raw") and clean[k] != before.get(k)]
    require_writable(actor, "contact", changed)
    contact.custom = custom_values_clean(entity="contact", values=custom, existing=contact.custom)
    for key, value in clean.items():
        setattr(contact, key, value)
    save_with_version(contact, expected_version=expected_version, fields=[*clean.keys(), "custom"])
    _completeness_refresh(contact.customer)
    changes = diff(before, {k: getattr(contact, k) for k in before})
    if changes:
        customer_changed(
            customer=contact.customer,
            actor=actor,
            kind="contact_updated",
            summary=_("修改了联系人 %s") % contact.name,
            changes=changes,
            contact=contact,
        )
    return contact


@transaction.atomic
def contact_delete(*, actor: Any, contact: Contact) -> Contact:
    record_delete(actor=actor, obj=contact)
    search_remove("contact", contact.pk)
    timeline_append(
        customer_id=contact.customer_id,
        contact_id=contact.pk,
        kind="contact_deleted",
        actor=actor,
        summary=_("删除了联系人 %s") % contact.name,
    )
    _completeness_refresh(contact.customer)
    return contact


# ----------------------------------------------------------------- tags


def _tag_paths(tag: Tag) -> None:
    parent = tag.parent
    path = f"{parent.path if parent else '/'}{tag.pk}/"
    full = f"{parent.full_name}/{tag.name}" if parent else tag.name
    old_path = tag.path
    Tag.objects.filter(pk=tag.pk).update(path=path, full_name=full)
    tag.path, tag.full_name = path, full
    if old_path not in ("", "/") and old_path != path:
        for child in (
            Tag.objects.filter(path__startswith=old_path).exclude(pk=tag.pk).order_by("path")
        ):
            child.refresh_from_db()
            _tag_paths(child)
    else:
        for child in Tag.objects.filter(parent=tag):
            _tag_paths(child)


@transaction.atomic
def tag_create(*, actor: Any, name: str, parent: Tag | None = None, color: str = "blue") -> Tag:
    require(actor, "create", Tag)
    name = (name or "").strip().strip("/")
    if not name:
        raise ValidationFailed(_("请填写标签名称"), field="name")
    if "/" in name:
        # "行业/制造业/汽车零部件" creates the missing levels in one go.
        current = parent
        for part in [p.strip() for p in name.split("/") if p.strip()]:
            existing = Tag.objects.filter(parent=current, name=part).first()
            current = existing or tag_create(actor=actor, name=part, parent=current, color=color)
        assert current is not None
        return current
    if len(name) > 50:
        raise ValidationFailed(_("标签名称不能超过 50 个字符"), field="name")
    if Tag.objects.filter(parent=parent, name=name).exists():
        raise ValidationFailed(_("同一级下已有同名标签"), field="name")
    tag = Tag.objects.create(name=name, parent=parent, color=color or "blue")
    _tag_paths(tag)
    audit_record(action="create", actor=actor, obj=tag, changes={"full_name": tag.full_name})
    return tag


@transaction.atomic
def tag_update(
    *, actor: Any, tag: Tag, name: str | None = None, parent: Any = ..., color: str | None = None
) -> Tag:
    require(actor, "edit", tag)
    before = {"full_name": tag.full_name, "color": tag.color}
    if name is not None:
        name = name.strip()
        if not name or "/" in name or len(name) > 50:
            raise ValidationFailed(_("标签名称不能为空、不能含 /、不超过 50 个字符"), field="name")
        tag.name = name
    if parent is not ...:
        if parent is not None and (parent.pk == tag.pk or parent.path.startswith(tag.path)):
            raise ValidationFailed(_("不能把标签移到它自己或它的下级之下"), field="parent")
        tag.parent = parent
    if color:
        tag.color = color
    if Tag.objects.filter(parent=tag.parent, name=tag.name).exclude(pk=tag.pk).exists():
        raise ValidationFailed(_("同一级下已有同名标签"), field="name")
    tag.save()
    _tag_paths(tag)
    changes = diff(before, {"full_name": tag.full_name, "color": tag.color})
    if changes:
        audit_record(action="update", actor=actor, obj=tag, changes=changes)
    return tag


@transaction.atomic
def tag_delete(*, actor: Any, tag: Tag) -> None:
    """Tags are labels, not customer data: deleting one untags, never deletes customers."""
    require(actor, "delete", tag)
    if tag.children.exists():
        raise ValidationFailed(_("请先删除或移走下级标签"), field="children")
    used = CustomerTag.objects.filter(tag=tag).count()
    audit_record(
        action="delete",
        actor=actor,
        obj=tag,
        changes={"full_name": tag.full_name, "customers": used},
    )
    CustomerTag.objects.filter(tag=tag).delete()
    tag.delete()


@transaction.atomic
def customers_tag(*, actor: Any, customer_ids: list[int], tags: list[Tag], add: bool = True) -> int:
    """Bulk tag / untag: only customers the actor may edit; returns how many changed."""
    if not tags:
        raise ValidationFailed(_("请选择标签"), field="tags")
    ids = list(editable(actor, Customer).filter(pk__in=customer_ids).values_list("pk", flat=True))
    if len(ids) != len(set(customer_ids)):
        raise NotFound(_("部分客户不存在或您无权修改，未做任何更改"))
    changed = 0
    tag_names = [t.full_name for t in tags]
    for cid in ids:
        if add:
            existing = set(
                CustomerTag.objects.filter(customer_id=cid, tag__in=tags).values_list(
                    "tag_id", flat=True
                )
            )
            new = [CustomerTag(customer_id=cid, tag=t) for t in tags if t.pk not in existing]
            if not new:
                continue
            CustomerTag.objects.bulk_create(new)
            names = [t.full_name for t in tags if t.pk not in existing]
            summary = _("添加标签：%s") % "、".join(names)
        else:
            deleted, _x = CustomerTag.objects.filter(customer_id=cid, tag__in=tags).delete()
            if not deleted:
                continue
            summary = _("移除标签：%s") % "、".join(tag_names)
        changed += 1
        timeline_append(
            customer_id=cid,
            kind="tagged",
            actor=actor,
            summary=summary,
            data={"tags": tag_names, "add": add},
        )
        Customer.objects.filter(pk=cid).update(
            version=models_F("version") + 1, updated_at=timezone.now()
        )
    if changed:
        audit_record(
            action="update",
            actor=actor,
            entity="customer",
            object_repr=_("批量标签"),
            changes={"customers": ids[:200], "tags": tag_names, "add": add},
        )
    for c in Customer.objects.filter(pk__in=ids):
        _completeness_refresh(c)
    return changed


def models_F(name: str) -> Any:
    from django.db.models import F

    return F(name)


# ----------------------------------------------------------------- ownership


def _owned_count(user: User) -> int:
    return Customer.objects.filter(owner=user).count()


@transaction.atomic
def customer_claim(*, actor: Any, customer: Customer) -> Customer:
    """Claim a customer from the public pool (公海), within the per-rep limit."""
    require(actor, "view", customer)
    if not can(actor, "edit", Customer):
        raise PermissionDenied(_("您没有领取客户的权限"))
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.owner_id is not None:
        raise ValidationFailed(_("该客户已被 %s 领取") % locked.owner, field="owner")
    limit = int(config.pool_rules().get("claim_limit") or 0)
    if limit and _owned_count(actor) >= limit:
        raise ValidationFailed(
            _("您名下客户已达上限 %(n)d 个，请先释放部分客户") % {"n": limit}, field="owner"
        )
    now = timezone.now()
    Customer.objects.filter(pk=locked.pk).update(
        owner=actor,
        owned_since=now,
        pool_entered_at=None,
        pool_reason="",
        version=locked.version + 1,
    )
    customer.refresh_from_db()
    customer_changed(
        customer=customer,
        actor=actor,
        kind="claimed",
        summary=_("从公海领取"),
        changes={"owner": [None, actor.name]},
    )
    return customer


@transaction.atomic
def customer_release(
    *, actor: Any, customer: Customer, reason: str, system: bool = False
) -> Customer:
    """Return a customer to the pool with a reason (the rep, a manager, or a pool rule)."""
    if not system:
        require(actor, "edit", customer)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写退回公海的原因"), field="reason")
    if customer.owner_id is None:
        raise ValidationFailed(_("该客户已在公海中"), field="owner")
    old_owner = customer.owner
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(
        owner=None,
        owned_since=None,
        pool_entered_at=now,
        pool_reason=reason[:200],
        version=customer.version + 1,
    )
    customer.refresh_from_db()
    customer_changed(
        customer=customer,
        actor=None if system else actor,
        kind="released",
        summary=_("退回公海：%s") % reason[:200],
        changes={"owner": [old_owner.name if old_owner else None, None]},
    )
    return customer


@dataclass
class PoolRunResult:
    released: list[int]
    checked_at: dt.datetime


def pool_candidates_unscoped(*, now: dt.datetime) -> Any:
    """Customers the pool rules would return now (unscoped: the rules apply to everyone)."""
    rules = config.pool_rules()
    protected_after = now - dt.timedelta(days=int(rules.get("protection_days") or 0))
    base = Customer.objects.filter(owner__isnull=False, owned_since__lte=protected_after)
    conditions = Q(pk__in=[])
    n = int(rules.get("no_follow_up_days") or 0)
    if n:
        cutoff = now - dt.timedelta(days=n)
        conditions |= Q(last_follow_up_at__lt=cutoff) | Q(
            last_follow_up_at__isnull=True, owned_since__lt=cutoff
        )
    m = int(rules.get("no_won_days") or 0)
    if m:
        cutoff = now - dt.timedelta(days=m)
        conditions |= Q(owned_since__lt=cutoff) & (
            Q(last_won_at__isnull=True) | Q(last_won_at__lt=cutoff)
        )
    return base.filter(conditions).exclude(status=CustomerStatus.WON)


def pool_apply_rules(*, now: dt.datetime | None = None, dry_run: bool = False) -> PoolRunResult:
    """The scheduled job: return to the pool what the administrator's rules say.

    Idempotent: a customer already in the pool is not a candidate; running twice releases
    nothing more. Every release is on the customer's timeline with the rule that made it.
    """
    now = now or timezone.now()
    rules = config.pool_rules()
    if not rules.get("enabled", True):
        return PoolRunResult([], now)
    released: list[int] = []
    n = int(rules.get("no_follow_up_days") or 0)
    m = int(rules.get("no_won_days") or 0)
    for customer in pool_candidates_unscoped(now=now).select_related("owner")[:5000]:
        last = customer.last_follow_up_at or customer.owned_since
        if n and last and last < now - dt.timedelta(days=n):
            reason = _("规则：%(n)d 天未跟进") % {"n": n}
        else:
            reason = _("规则：%(m)d 天未成交") % {"m": m}
        if not dry_run:
            customer_release(actor=None, customer=customer, reason=reason, system=True)
        released.append(customer.pk)
    if not dry_run:
        audit_record(
            action="update",
            entity="customer",
            actor_name="system",
            object_repr=_("公海规则"),
            changes={"released": released[:500], "count": len(released), "at": now},
        )
    return PoolRunResult(released, now)


@transaction.atomic
def customer_transfer(*, actor: Any, customer_ids: list[int], owner: User) -> int:
    """Bulk change of owner (a manager reassigning, an admin cleaning up)."""
    _owner_check(actor, owner)
    customers = list(editable(actor, Customer).filter(pk__in=customer_ids).select_related("owner"))
    if len(customers) != len(set(customer_ids)):
        raise NotFound(_("部分客户不存在或您无权修改，未做任何更改"))
    now = timezone.now()
    for c in customers:
        if c.owner_id == owner.pk:
            continue
        old = c.owner.name if c.owner else None
        Customer.objects.filter(pk=c.pk).update(owner=owner, owned_since=now, version=c.version + 1)
        c.refresh_from_db()
        customer_changed(
            customer=c,
            actor=actor,
            kind="owner_changed",
            summary=_("负责人变更为 %s") % owner.name,
            changes={"owner": [old, owner.name]},
        )
    return len(customers)


# ----------------------------------------------------------------- collaboration


@transaction.atomic
def collaboration_request_create(
    *, actor: Any, customer_id: int, reason: str = ""
) -> CollaborationRequest:
    """A rep found an existing customer on registration and asks to join it."""
    customer = Customer.objects.filter(pk=customer_id).first()  # unscoped: it may be invisible
    if customer is None:
        raise NotFound()
    if (
        customer.owner_id == actor.pk
        or CustomerCollaborator.objects.filter(customer=customer, user=actor).exists()
    ):
        raise ValidationFailed(_("您已经可以访问该客户"), field="customer")
    existing = CollaborationRequest.objects.filter(
        customer=customer, requester=actor, status=RequestStatus.PENDING
    ).first()
    if existing:
        return existing
    req = CollaborationRequest.objects.create(
        customer=customer, requester=actor, reason=(reason or "")[:300]
    )
    audit_record(
        action="create",
        actor=actor,
        entity="collaboration",
        object_id=req.pk,
        object_repr=str(customer.pk),
        changes={"customer": customer.pk},
    )
    return req


def _can_decide(actor: Any, req: CollaborationRequest) -> bool:
    owner_id = req.customer.owner_id
    return bool(
        is_admin(actor)
        or (owner_id and owner_id == actor.pk)
        or (owner_id and owner_id in _team_ids(actor))
    )


@transaction.atomic
def collaboration_request_decide(
    *, actor: Any, request_id: int, approve: bool
) -> CollaborationRequest:
    req = (
        CollaborationRequest.objects.select_related("customer", "requester")
        .filter(pk=request_id)
        .first()
    )
    if req is None or not _can_decide(actor, req):
        raise NotFound()
    if req.status != RequestStatus.PENDING:
        raise ValidationFailed(_("该申请已处理"), field="status")
    req.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    req.decided_by = actor
    req.decided_at = timezone.now()
    req.save(update_fields=["status", "decided_by", "decided_at"])
    if approve:
        CustomerCollaborator.objects.get_or_create(
            customer=req.customer, user=req.requester, defaults={"added_by": actor}
        )
        customer_changed(
            customer=req.customer,
            actor=actor,
            kind="collaborator",
            summary=_("添加协作人 %s") % req.requester.name,
            changes={"collaborator": [None, req.requester.name]},
        )
    return req


@transaction.atomic
def collaborator_remove(*, actor: Any, customer: Customer, user: User) -> None:
    require(actor, "edit", customer)
    deleted, _x = CustomerCollaborator.objects.filter(customer=customer, user=user).delete()
    if deleted:
        customer_changed(
            customer=customer,
            actor=actor,
            kind="collaborator",
            summary=_("移除协作人 %s") % user.name,
            changes={"collaborator": [user.name, None]},
        )


# ----------------------------------------------------------------- handover (离职交接)


@dataclass(frozen=True)
class HandoverParticipant:
    """Other records a leaver owns (opportunities, quotes, contracts, leads…) that move with
    a handover. A record of a handed-over customer goes to that customer's new owner; one
    without a customer (or whose customer is not the leaver's) is dealt round-robin."""

    entity: str
    model: Any
    label: Any
    owner_field: str = "owner"
    customer_field: str | None = "customer"


HANDOVER_PARTICIPANTS: list[HandoverParticipant] = []


def handover_participant_register(participant: HandoverParticipant) -> None:
    if all(p.entity != participant.entity for p in HANDOVER_PARTICIPANTS):
        HANDOVER_PARTICIPANTS.append(participant)


@dataclass
class HandoverPlan:
    from_user: User
    assignments: list[tuple[Customer, User]]
    contacts: int
    # (label, count) of the other records that move: opportunities, quotes…
    others: list[tuple[Any, int]] = field(default_factory=list)

    @property
    def counts(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for _c, u in self.assignments:
            out[u.pk] = out.get(u.pk, 0) + 1
        return out


def handover_preview(*, actor: Any, from_user: User, to_users: list[User]) -> HandoverPlan:
    """Who gets what: customers of `from_user` dealt round-robin to `to_users` (by name)."""
    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以办理离职交接"))
    if not to_users:
        raise ValidationFailed(_("请选择接收人"), field="to_users")
    if any(u.pk == from_user.pk for u in to_users):
        raise ValidationFailed(_("接收人不能是交出人本人"), field="to_users")
    if any(not u.is_active for u in to_users):
        raise ValidationFailed(_("接收人必须是在职用户"), field="to_users")
    customers = list(Customer.objects.filter(owner=from_user).order_by("name", "id"))
    assignments = [(c, to_users[i % len(to_users)]) for i, c in enumerate(customers)]
    contacts = Contact.objects.filter(customer__owner=from_user).count()
    others = [
        (p.label, p.model.objects.filter(**{p.owner_field: from_user}).count())
        for p in HANDOVER_PARTICIPANTS
    ]
    return HandoverPlan(from_user, assignments, contacts, [o for o in others if o[1]])


def _handover_others(
    batch: HandoverBatch, plan: HandoverPlan, to_users: list[User]
) -> list[HandoverItem]:
    new_owner_of = {c.pk: u for c, u in plan.assignments}
    items: list[HandoverItem] = []
    for p in HANDOVER_PARTICIPANTS:
        qs = p.model.objects.filter(**{p.owner_field: plan.from_user}).order_by("pk")
        for i, obj in enumerate(qs):
            customer_id = getattr(obj, f"{p.customer_field}_id") if p.customer_field else None
            receiver = new_owner_of.get(customer_id or 0) or to_users[i % len(to_users)]
            p.model.all_objects.filter(pk=obj.pk).update(
                **{p.owner_field: receiver}, version=models_F("version") + 1
            )
            items.append(
                HandoverItem(
                    batch=batch,
                    entity=p.entity,
                    object_id=obj.pk,
                    old_owner=plan.from_user,
                    new_owner=receiver,
                )
            )
    return items


@transaction.atomic
def handover_execute(
    *, actor: Any, from_user: User, to_users: list[User], reason: str = ""
) -> HandoverBatch:
    plan = handover_preview(actor=actor, from_user=from_user, to_users=to_users)
    batch = HandoverBatch.objects.create(
        actor=actor,
        from_user=from_user,
        reason=(reason or "")[:200],
        summary={
            "customers": len(plan.assignments),
            "contacts": plan.contacts,
            "to": {str(k): v for k, v in plan.counts.items()},
            "others": {str(label): n for label, n in plan.others},
        },
    )
    items = []
    for customer, new_owner in plan.assignments:
        items.append(
            HandoverItem(
                batch=batch,
                entity="customer",
                object_id=customer.pk,
                old_owner=from_user,
                new_owner=new_owner,
            )
        )
        # A new owner starts a new protection period: the pool rules must not take the
        # customer straight back the night after a handover.
        Customer.objects.filter(pk=customer.pk).update(
            owner=new_owner, owned_since=timezone.now(), version=customer.version + 1
        )
        timeline_append(
            customer_id=customer.pk,
            kind="handover",
            actor=actor,
            summary=_("离职交接：%(a)s → %(b)s") % {"a": from_user.name, "b": new_owner.name},
            data={"changes": {"owner": [from_user.name, new_owner.name]}, "batch": batch.pk},
        )
    items.extend(_handover_others(batch, plan, to_users))
    HandoverItem.objects.bulk_create(items, batch_size=500)
    audit_record(action="update", actor=actor, obj=batch, entity="handover", changes=batch.summary)
    return batch


@transaction.atomic
def handover_undo(*, actor: Any, batch_id: int) -> HandoverBatch:
    """Give back what a handover moved, except records whose owner changed since."""
    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以撤销离职交接"))
    batch = HandoverBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise NotFound()
    if batch.undone_at:
        raise ValidationFailed(_("该交接已撤销"), field="batch")
    restored = skipped = 0
    for item in batch.items.filter(entity="customer").select_related("old_owner", "new_owner"):
        updated = Customer.objects.filter(pk=item.object_id, owner=item.new_owner).update(
            owner=item.old_owner, version=models_F("version") + 1
        )
        if updated:
            restored += 1
            timeline_append(
                customer_id=item.object_id,
                kind="handover",
                actor=actor,
                summary=_("撤销离职交接：%(b)s → %(a)s")
                % {"a": item.old_owner.name, "b": item.new_owner.name},
                data={
                    "changes": {"owner": [item.new_owner.name, item.old_owner.name]},
                    "batch": batch.pk,
                },
            )
        else:
            skipped += 1
    participants = {p.entity: p for p in HANDOVER_PARTICIPANTS}
    for item in batch.items.exclude(entity="customer"):
        p = participants.get(item.entity)
        if p is None:
            continue
        p.model.all_objects.filter(
            pk=item.object_id, **{f"{p.owner_field}_id": item.new_owner_id}
        ).update(**{f"{p.owner_field}_id": item.old_owner_id}, version=models_F("version") + 1)
    batch.undone_at = timezone.now()
    batch.undone_by = actor
    # Kept on the batch so the handover page can say what the undo restored and skipped.
    batch.summary = {**batch.summary, "undo": {"restored": restored, "skipped": skipped}}
    batch.save(update_fields=["undone_at", "undone_by", "summary"])
    audit_record(
        action="update",
        actor=actor,
        obj=batch,
        entity="handover",
        changes={"undone": True, "restored": restored, "skipped": skipped},
    )
    return batch


# ----------------------------------------------------------------- saved views and settings


@transaction.atomic
def saved_view_save(*, actor: Any, entity: str, name: str, params: str) -> SavedView:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请为视图起个名字"), field="name")
    if len(name) > 100 or len(params or "") > 2000:
        raise ValidationFailed(_("名称或筛选条件过长"), field="name")
    view, _created = SavedView.objects.update_or_create(
        user=actor, entity=entity, name=name, defaults={"params": (params or "").lstrip("?")}
    )
    return view


@transaction.atomic
def saved_view_delete(*, actor: Any, view_id: int) -> None:
    deleted, _x = SavedView.objects.filter(pk=view_id, user=actor).delete()
    if not deleted:
        raise NotFound()


@transaction.atomic
def customer_settings_update(
    *,
    actor: Any,
    levels: list[str] | None = None,
    completeness_fields: list[str] | None = None,
    pool: dict[str, Any] | None = None,
) -> None:
    from crm.core.config import setting_set
    from crm.customers.tasks import completeness_recompute_task

    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以修改客户设置"))
    if levels is not None:
        clean = [str(level).strip() for level in levels if str(level).strip()]
        if not clean or len(clean) != len(set(clean)) or any(len(x) > 20 for x in clean):
            raise ValidationFailed(
                _("客户级别不能为空、不能重复、每个不超过 20 个字符"), field="levels"
            )
        setting_set(actor=actor, key=config.LEVELS, value=clean)
    if completeness_fields is not None:
        allowed = {k for k, _l in config.COMPLETENESS_CHOICES}
        from crm.customfields.services import custom_field_defs

        allowed |= {f"custom.{d.key}" for d in custom_field_defs("customer")}
        bad = [f for f in completeness_fields if f not in allowed]
        if bad:
            raise ValidationFailed(
                _("未知的关键字段：%s") % ", ".join(bad)[:100], field="completeness_fields"
            )
        setting_set(
            actor=actor, key=config.COMPLETENESS, value=list(dict.fromkeys(completeness_fields))
        )
        transaction.on_commit(lambda: completeness_recompute_task.enqueue())
    if pool is not None:
        current = config.pool_rules()
        clean_pool: dict[str, Any] = {"enabled": bool(pool.get("enabled", current["enabled"]))}
        for key in ("protection_days", "no_follow_up_days", "no_won_days", "claim_limit"):
            value: Any = pool.get(key, current.get(key))
            try:
                number = int(value)
            except (TypeError, ValueError) as exc:
                raise ValidationFailed(_("必须是整数"), field=f"pool.{key}") from exc
            if number < 0 or number > 100000:
                raise ValidationFailed(_("必须在 0 到 100000 之间"), field=f"pool.{key}")
            clean_pool[key] = number
        setting_set(actor=actor, key=config.POOL, value=clean_pool)


def owned_counts(user_ids: list[int]) -> dict[int, int]:
    rows = Customer.objects.filter(owner_id__in=user_ids).values("owner_id").annotate(n=Count("id"))
    return {r["owner_id"]: r["n"] for r in rows}


__all__ = ["visible", "visible_get"]
