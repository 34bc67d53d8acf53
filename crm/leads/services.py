"""Every write to leads, assignment rules and capture forms; conversion into a customer."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access.fieldsec import require_writable
from crm.access.models import Department, Scope, User
from crm.access.visibility import can, grant_for, is_admin, report_ids, require
from crm.audit.services import audit_record, diff
from crm.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from crm.core.recyclebin import record_delete
from crm.core.versioning import save_with_version
from crm.customers.models import Contact, Customer
from crm.customers.normalize import email_normalize, phone_normalize
from crm.customfields.services import custom_values_clean
from crm.leads import config
from crm.leads.assignment import OPEN_STATUSES, Decision, assignment_decide
from crm.leads.models import (
    AssignmentRule,
    CaptureForm,
    Lead,
    LeadAssignment,
    LeadEvent,
    LeadEventKind,
    LeadStatus,
    RuleMatch,
    RuleStrategy,
)
from crm.leads.regions import city_normalize, province_normalize
from crm.search.services import search_index, search_remove
from crm.timeline.services import timeline_append

LEAD_FIELDS = [
    "name",
    "company",
    "title",
    "mobile",
    "phone",
    "email",
    "wechat",
    "source",
    "province",
    "city",
    "industry",
    "notes",
]
TEXT_LIMITS = {
    "name": 100,
    "company": 200,
    "title": 100,
    "wechat": 100,
    "source": 50,
    "province": 20,
    "city": 30,
    "industry": 100,
    "notes": 5000,
}
CHANNELS = ("mobile", "phone", "email", "wechat")
STATUS_ORDER = [s.value for s in LeadStatus]
REASON_MAX = 200


class TooManySubmissions(DomainError):
    status = 429
    default_message = gettext_lazy("提交过于频繁，请稍后再试")


# ----------------------------------------------------------------- cleaning


def _text(data: dict[str, Any], key: str) -> str:
    raw = str(data.get(key) or "")
    # One line fields: runs of spaces and line breaks (from a paste) become one space.
    value = raw.strip() if key == "notes" else " ".join(raw.split())
    limit = TEXT_LIMITS.get(key)
    if limit and len(value) > limit:
        raise ValidationFailed(_("不能超过 %(n)d 个字符") % {"n": limit}, field=key)
    return value


def lead_clean(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate and normalise lead fields like contacts: phones to E.164, emails lower-case,
    provinces to their short form (广东省 → 广东; a city alone tells the province)."""
    out: dict[str, Any] = {}
    keys = [k for k in LEAD_FIELDS if not partial or k in data]
    for key in keys:
        if key == "name":
            name = _text(data, "name")
            if not name:
                raise ValidationFailed(_("请填写姓名"), field="name")
            out["name"] = name
        elif key in ("mobile", "phone"):
            e164, _raw = phone_normalize(str(data.get(key) or ""), field=key)
            if len(e164) > 32:
                raise ValidationFailed(_("号码过长"), field=key)
            out[key] = e164
        elif key == "email":
            email = email_normalize(str(data.get("email") or ""))
            if len(email) > 254:
                raise ValidationFailed(_("邮箱地址过长"), field="email")
            out["email"] = email
        elif key == "city":
            out["city"] = city_normalize(_text(data, "city"))
        else:
            out[key] = _text(data, key)
    if "province" in out:
        out["province"] = province_normalize(out["province"], city=out.get("city", ""))
    return out


def _require_channel(values: dict[str, Any]) -> None:
    if not any(values.get(k) for k in CHANNELS):
        raise ValidationFailed(
            _("请至少填写一种联系方式（手机、电话、邮箱或微信）"), field="mobile"
        )


# ----------------------------------------------------------------- duplicates


def lead_duplicates_unscoped(
    *, mobile: str = "", email: str = "", exclude_id: int | None = None
) -> list[Lead]:
    """Open leads with the same mobile or email, in every department.

    Unscoped on purpose: the warning must also name a colleague's lead (who is on it), as the
    customer registration check does. Callers show hits through lead_duplicate_describe.
    """
    from django.db.models import Q

    q = Q(pk__in=[])
    if mobile:
        q |= Q(mobile=mobile)
    if email:
        q |= Q(email=email)
    qs = Lead.objects.filter(q, status__in=OPEN_STATUSES).select_related("owner")
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.order_by("-id")[:5])


def lead_duplicate_describe(actor: Any, lead: Lead) -> dict[str, Any]:
    """What the actor may learn about an open lead they may not be able to see."""
    visible = can(actor, "view", lead) if actor is not None else False
    owner = lead.owner
    return {
        "id": lead.pk,
        "name": lead.name if visible else "",
        "company": lead.company if visible else "",
        "owner": owner.name if owner else str(_("线索池")),
        "status": str(lead.get_status_display()),
        "visible": visible,
    }


# ----------------------------------------------------------------- history


def _event(
    lead: Lead, kind: str, actor: Any, summary: str, data: dict[str, Any] | None = None
) -> LeadEvent:
    from crm.audit.services import _jsonable

    return LeadEvent.objects.create(
        lead=lead,
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        summary=str(summary)[:500],
        data=_jsonable(data or {}),
    )


def _actor_or_none(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _audit(action: str, actor: Any, lead: Lead, changes: dict[str, Any]) -> None:
    audit_record(
        action=action,
        actor=_actor_or_none(actor),
        obj=lead,
        changes=changes,
        actor_name="" if _actor_or_none(actor) else "system",
    )


# ----------------------------------------------------------------- assignment


def _set_owner(
    lead: Lead,
    user: User | None,
    *,
    actor: Any,
    rule: AssignmentRule | None,
    reason: str,
) -> LeadAssignment:
    """The one place a lead's owner changes: the row, the log, the audit."""
    old = lead.owner
    now = timezone.now()
    Lead.objects.filter(pk=lead.pk).update(
        owner=user, assigned_at=now if user else None, version=F("version") + 1
    )
    lead.owner = user
    lead.assigned_at = now if user else None
    lead.version += 1
    entry = LeadAssignment.objects.create(
        lead=lead,
        rule=rule,
        rule_name=rule.name if rule else "",
        user=user,
        actor=_actor_or_none(actor),
        reason=str(reason)[:300],
        at=now,
    )
    _audit(
        "update",
        actor,
        lead,
        {
            "owner": [old.name if old else None, user.name if user else None],
            "rule": rule.name if rule else None,
            "reason": str(reason)[:300],
        },
    )
    return entry


def lead_assign_auto(*, lead: Lead, actor: Any = None) -> Decision:
    """Run the assignment rules on one lead (new leads from forms, imports and the API)."""
    decision = assignment_decide(_values(lead), commit=True)
    reason = decision.reason
    if decision.skipped:
        reason = f"{reason}（{'；'.join(decision.skipped)}）"
    _set_owner(lead, decision.user, actor=actor, rule=decision.rule, reason=reason)
    return decision


def _values(lead: Lead) -> dict[str, Any]:
    return {k: getattr(lead, k) for k in LEAD_FIELDS}


def assignment_preview(*, actor: Any, data: dict[str, Any]) -> Decision:
    """The "test a lead" preview on the rules page: which rule would fire, read only."""
    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以测试分配规则"))
    values = {
        "province": province_normalize(
            str(data.get("province") or ""), city=str(data.get("city") or "")
        ),
        "city": str(data.get("city") or ""),
        "industry": str(data.get("industry") or "").strip(),
        "source": str(data.get("source") or "").strip(),
    }
    return assignment_decide(values, commit=False)


def _assign_reach(actor: Any) -> str:
    """How far the actor may hand leads out: admin all; otherwise the lead edit scope."""
    if is_admin(actor):
        return Scope.ALL
    return grant_for(actor, "lead").scope_for("edit")


def lead_can_assign(actor: Any) -> bool:
    """Managers (edit scope wider than their own leads) and administrators assign by hand."""
    return _assign_reach(actor) in (Scope.DEPARTMENT, Scope.SUBTREE, Scope.ALL)


def _assign_target_check(actor: Any, user: User) -> None:
    reach = _assign_reach(actor)
    if reach not in (Scope.DEPARTMENT, Scope.SUBTREE, Scope.ALL):
        raise PermissionDenied(_("只有主管可以分配线索"), field="owner")
    if not user.is_active:
        raise ValidationFailed(_("该用户已停用"), field="owner")
    if not can(user, "view", Lead):
        raise ValidationFailed(
            _("%(name)s 没有查看线索的权限") % {"name": user.name}, field="owner"
        )
    if reach == Scope.ALL or user.pk == actor.pk or user.pk in report_ids(actor):
        return
    dept = actor.department if actor.department_id else None
    target = user.department if user.department_id else None
    if dept is not None and target is not None:
        if reach == Scope.DEPARTMENT and target.pk == dept.pk:
            return
        if reach == Scope.SUBTREE and target.path.startswith(dept.path):
            return
    raise PermissionDenied(_("只能把线索分配给本团队的成员"), field="owner")


def _may_reassign(actor: Any, lead: Lead) -> None:
    """A manager may hand out his team's leads and the pool's; a rep neither."""
    if not lead_can_assign(actor):
        if can(actor, "view", lead):
            raise PermissionDenied(_("只有主管可以分配线索"))
        raise NotFound()
    if lead.owner_id is None:
        require(actor, "view", lead)
    else:
        require(actor, "edit", lead)


def _open_check(lead: Lead) -> None:
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationFailed(_("线索已转化，不能再修改"), field="status")


@transaction.atomic
def lead_assign(*, actor: Any, lead: Lead, user: User, reason: str = "") -> Lead:
    """Assign by hand: a manager gives a lead (his team's or the pool's) to a team member."""
    _may_reassign(actor, lead)
    _open_check(lead)
    _assign_target_check(actor, user)
    if lead.owner_id == user.pk:
        raise ValidationFailed(_("线索已由 %(name)s 负责") % {"name": user.name}, field="owner")
    reason = (reason or "").strip()[:REASON_MAX]
    text = _("%(actor)s 手动分配") % {"actor": actor.name}
    _set_owner(lead, user, actor=actor, rule=None, reason=f"{text}：{reason}" if reason else text)
    search_index(lead)
    return lead


@transaction.atomic
def lead_assign_bulk(
    *, actor: Any, lead_ids: list[int], user: User | None = None, by_rules: bool = False
) -> int:
    """Assign many leads to one person, or run the rules on them; all or nothing."""
    from crm.access.visibility import visible

    if not lead_ids:
        raise ValidationFailed(_("请先勾选线索"), field="ids")
    if not by_rules and user is None:
        raise ValidationFailed(_("请选择负责人"), field="owner")
    if not lead_can_assign(actor):
        raise PermissionDenied(_("只有主管可以分配线索"))
    leads = list(visible(actor, Lead).filter(pk__in=lead_ids).select_related("owner"))
    if len(leads) != len(set(lead_ids)):
        raise NotFound(_("部分线索不存在或您无权查看，未做任何更改"))
    if user is not None:
        _assign_target_check(actor, user)
    done = 0
    for lead in leads:
        _may_reassign(actor, lead)
        _open_check(lead)
        if by_rules:
            lead_assign_auto(lead=lead, actor=actor)
        elif lead.owner_id != user.pk:  # type: ignore[union-attr]
            assert user is not None
            _set_owner(
                lead,
                user,
                actor=actor,
                rule=None,
                reason=_("%(actor)s 批量分配") % {"actor": actor.name},
            )
        else:
            continue
        search_index(lead)
        done += 1
    return done


@transaction.atomic
def lead_claim(*, actor: Any, lead: Lead) -> Lead:
    """Take an unassigned lead from the pool (reps and managers who may edit leads)."""
    require(actor, "view", lead)
    if not can(actor, "edit", Lead):
        raise PermissionDenied(_("您没有领取线索的权限"))
    # of=("self",): PostgreSQL cannot lock the nullable side of the owner join.
    locked = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
    if locked.owner_id is not None:
        raise ValidationFailed(
            _("该线索已被 %(name)s 领取") % {"name": locked.owner.name}, field="owner"
        )
    if locked.status not in OPEN_STATUSES:
        raise ValidationFailed(_("只能领取未关闭的线索"), field="status")
    _set_owner(locked, actor, actor=actor, rule=None, reason=_("从线索池领取"))
    search_index(locked)
    return locked


@transaction.atomic
def lead_release(*, actor: Any, lead: Lead, reason: str) -> Lead:
    """Back to the pool with a reason (the owner, or a manager)."""
    require(actor, "edit", lead)
    _open_check(lead)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写退回线索池的原因"), field="reason")
    if lead.owner_id is None:
        raise ValidationFailed(_("该线索已在线索池中"), field="owner")
    _set_owner(lead, None, actor=actor, rule=None, reason=_("退回线索池：%s") % reason[:REASON_MAX])
    search_index(lead)
    return lead


# ----------------------------------------------------------------- leads


@transaction.atomic
def lead_create(
    *,
    actor: Any,
    data: dict[str, Any],
    owner: User | None = None,
    custom: dict[str, Any] | None = None,
    auto_assign: bool = False,
    system: bool = False,
    refuse_duplicate: bool = False,
    source_form: CaptureForm | None = None,
) -> Lead:
    """Create a lead (a page, the API, an import, a public web form).

    Owner: `owner` when given (a manager assigning at once); else the assignment rules when
    `auto_assign` or `system` (web forms), or when the actor may not edit leads (a service
    agent passing a lead on); else the actor (owner = me).

    A duplicate (an open lead with the same mobile or email) is a warning: recorded on the
    lead's history, and refused with Conflict(existing_id) only when `refuse_duplicate`
    (the create page asks the user to confirm). Imports call this once per row.
    """
    if not system:
        require(actor, "create", Lead)
        require_writable(actor, "lead", [k for k in LEAD_FIELDS if data.get(k)])
    clean = lead_clean(data)
    _require_channel(clean)
    duplicates = lead_duplicates_unscoped(mobile=clean["mobile"], email=clean["email"])
    if duplicates and refuse_duplicate:
        info = lead_duplicate_describe(actor, duplicates[0])
        raise Conflict(
            _("已有相同手机或邮箱的未关闭线索（负责人：%(owner)s，状态：%(status)s）")
            % {"owner": info["owner"], "status": info["status"]},
            existing_id=duplicates[0].pk,
            field="mobile" if clean["mobile"] else "email",
        )
    values = custom_values_clean(
        entity="lead", values=custom, status=LeadStatus.NEW, status_order=STATUS_ORDER
    )
    if owner is not None and not system and owner.pk != getattr(actor, "pk", None):
        _assign_target_check(actor, owner)
    lead = Lead.objects.create(
        **clean, custom=values, created_by=None if system else _actor_or_none(actor)
    )
    how = _("网页表单「%s」") % source_form.name if source_form else ""
    _event(
        lead,
        LeadEventKind.CREATED,
        None if system else actor,
        _("通过%s创建了线索") % how if how else _("创建了线索"),
        {
            "form": source_form.name if source_form else None,
            "duplicates": [d.pk for d in duplicates],
        },
    )
    _audit(
        "create",
        None if system else actor,
        lead,
        {"values": {k: v for k, v in clean.items() if v}, "form": how or None},
    )
    by_rules = system or auto_assign or not can(actor, "edit", Lead)
    if owner is not None:
        reason = _("创建时指定负责人") if owner.pk != getattr(actor, "pk", None) else _("自己创建")
        _set_owner(lead, owner, actor=actor, rule=None, reason=reason)
    elif by_rules:
        lead_assign_auto(lead=lead, actor=None if system else actor)
    else:
        _set_owner(lead, actor, actor=actor, rule=None, reason=_("自己创建"))
    lead.duplicate_hits = duplicates  # for the caller's warning
    search_index(lead)
    return lead


@transaction.atomic
def lead_update(
    *,
    actor: Any,
    lead: Lead,
    expected_version: int | None,
    data: dict[str, Any] | None = None,
    custom: dict[str, Any] | None = None,
) -> Lead:
    require(actor, "edit", lead)
    _open_check(lead)
    data = {k: v for k, v in (data or {}).items() if k in LEAD_FIELDS}
    clean = lead_clean(data, partial=True)
    if "city" in clean and "province" not in clean and not lead.province:
        clean["province"] = province_normalize("", city=clean["city"])
    before = {k: getattr(lead, k) for k in [*LEAD_FIELDS, "custom"]}
    changed = [k for k in clean if clean[k] != before.get(k)]
    require_writable(actor, "lead", changed)
    merged = {**before, **clean}
    _require_channel(merged)
    lead.custom = custom_values_clean(
        entity="lead",
        values=custom,
        existing=lead.custom,
        status=lead.status,
        status_order=STATUS_ORDER,
    )
    for key, value in clean.items():
        setattr(lead, key, value)
    save_with_version(lead, expected_version=expected_version, fields=[*clean.keys(), "custom"])
    changes = diff(before, {k: getattr(lead, k) for k in before})
    if changes:
        labels = _field_labels()
        names = "、".join(labels.get(k, k) for k in changes)
        _event(lead, LeadEventKind.UPDATED, actor, _("修改了 %s") % names, {"changes": changes})
        _audit("update", actor, lead, changes)
    search_index(lead)
    return lead


def _field_labels() -> dict[str, str]:
    from crm.access.registry import entity_get

    labels = {f.name: str(f.label) for f in entity_get("lead").fields}
    labels["custom"] = str(_("自定义字段"))
    return labels


@transaction.atomic
def lead_status_change(
    *,
    actor: Any,
    lead: Lead,
    status: str,
    reason: str = "",
    expected_version: int | None = None,
) -> Lead:
    """new ⇄ contacted ⇄ qualified; any open status → disqualified (a reason is required);
    disqualified → back to an open status. Converted only through lead_convert."""
    require(actor, "edit", lead)
    _open_check(lead)
    if status == LeadStatus.CONVERTED:
        raise ValidationFailed(_("请使用“转化”把线索转为客户"), field="status")
    if status not in LeadStatus.values:
        raise ValidationFailed(_("未知的线索状态"), field="status")
    if status == lead.status:
        raise ValidationFailed(_("线索已是该状态"), field="status")
    reason = " ".join((reason or "").split())
    if len(reason) > REASON_MAX:
        raise ValidationFailed(_("不能超过 %(n)d 个字符") % {"n": REASON_MAX}, field="reason")
    if status == LeadStatus.DISQUALIFIED and not reason:
        raise ValidationFailed(_("请填写无效原因"), field="reason")
    old = lead.status
    old_label = str(lead.get_status_display())
    lead.status = status
    lead.disqualify_reason = reason if status == LeadStatus.DISQUALIFIED else ""
    save_with_version(
        lead, expected_version=expected_version, fields=["status", "disqualify_reason"]
    )
    new_label = str(lead.get_status_display())
    summary = _("状态：%(a)s → %(b)s") % {"a": old_label, "b": new_label}
    if reason:
        summary = f"{summary}（{reason}）"
    _event(
        lead, LeadEventKind.STATUS, actor, summary, {"from": old, "to": status, "reason": reason}
    )
    _audit("update", actor, lead, {"status": [old, status], "reason": reason or None})
    search_index(lead)
    return lead


@transaction.atomic
def lead_note_add(*, actor: Any, lead: Lead, text: str) -> LeadEvent:
    """A note on the lead's history (a call, what the person wants); moves to the customer."""
    require(actor, "edit", lead)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(_("请填写备注内容"), field="text")
    if len(text) > 2000:
        raise ValidationFailed(_("不能超过 %(n)d 个字符") % {"n": 2000}, field="text")
    event = _event(lead, LeadEventKind.NOTE, actor, text[:500], {"text": text})
    Lead.objects.filter(pk=lead.pk).update(updated_at=timezone.now())
    return event


@transaction.atomic
def lead_delete(*, actor: Any, lead: Lead) -> Lead:
    record_delete(actor=actor, obj=lead)
    search_remove("lead", lead.pk)
    return lead


def lead_after_restore(lead: Any, actor: Any) -> None:
    """Recycle-bin hook: back in the search index."""
    search_index(lead)


# ----------------------------------------------------------------- conversion


@dataclass
class ConvertResult:
    lead: Lead
    customer: Customer
    contact: Contact | None
    opportunity: Any


def lead_customer_defaults(lead: Lead) -> dict[str, Any]:
    """The customer a lead becomes when nothing else is said: its company (or the person)."""
    return {
        "name": lead.company or lead.name,
        "industry": lead.industry,
        "source": lead.source,
        "province": lead.province,
        "city": lead.city,
    }


def lead_contact_defaults(lead: Lead) -> dict[str, Any]:
    return {
        "name": lead.name,
        "title": lead.title,
        "mobile": lead.mobile,
        "phone": lead.phone,
        "email": lead.email,
        "wechat": lead.wechat,
    }


def _same_person(customer: Customer, row: dict[str, Any]) -> Contact | None:
    """The existing contact of `customer` with this mobile or email (no second copy)."""
    from django.db.models import Q

    mobile = phone_normalize(str(row.get("mobile") or ""), field="mobile")[0]
    email = email_normalize(str(row.get("email") or ""))
    q = Q(pk__in=[])
    if mobile:
        q |= Q(mobile=mobile)
    if email:
        q |= Q(email=email)
    return Contact.objects.filter(q, customer=customer).order_by("id").first()


def _history_to_timeline(lead: Lead, customer: Customer) -> int:
    """Copy the lead's history (events and assignments) onto the customer's timeline, at
    the times they happened, each marked ref_entity "lead"."""
    rows: list[tuple[dt.datetime, int, Any, str, dict[str, Any]]] = []
    for e in LeadEvent.objects.filter(lead=lead).exclude(kind=LeadEventKind.CONVERTED):
        rows.append(
            (
                e.at,
                e.pk,
                e.actor,
                e.summary,
                {"lead_event": e.kind, **{k: v for k, v in e.data.items() if k != "changes"}},
            )
        )
    for a in LeadAssignment.objects.filter(lead=lead).select_related("user"):
        if a.user is not None:
            summary = _("分配给 %(who)s：%(why)s") % {"who": a.user.name, "why": a.reason}
        else:
            summary = _("进入线索池：%(why)s") % {"why": a.reason}
        rows.append((a.at, a.pk, a.actor, summary, {"lead_event": "assigned", "rule": a.rule_name}))
    rows.sort(key=lambda r: (r[0], r[1]))
    for at, _pk, actor, summary, data in rows:
        timeline_append(
            customer_id=customer.pk,
            kind="lead",
            actor=actor,
            summary=_("%(what)s（线索：%(name)s）") % {"name": lead.name, "what": summary},
            data=data,
            ref_entity="lead",
            ref_id=lead.pk,
            at=at,
        )
    return len(rows)


@transaction.atomic
def lead_convert(
    *,
    actor: Any,
    lead: Lead,
    customer: Customer | None = None,
    customer_data: dict[str, Any] | None = None,
    contact: Contact | None = None,
    contact_data: dict[str, Any] | None = None,
    create_contact: bool = True,
    opportunity_data: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> ConvertResult:
    """One step: create (or link) the customer, the contact and optionally an opportunity;
    copy the lead's history to the customer's timeline; mark the lead converted.

    A new customer goes through the registration duplicate check: a hit raises Conflict
    with the existing customer's id (nothing is written), so the caller can offer to link
    to it or to ask for collaboration. Converting a converted lead is refused (Conflict
    naming the customer it became).
    """
    from crm.customers.services import contact_create, customer_create

    locked = Lead.objects.select_for_update().filter(pk=lead.pk).first()
    if locked is None:
        raise NotFound()
    if locked.status == LeadStatus.CONVERTED:
        require(actor, "view", locked)
        name = locked.converted_customer.name if locked.converted_customer else "—"
        raise Conflict(
            _("该线索已于 %(at)s 转化为客户「%(name)s」，不能重复转化")
            % {
                "at": timezone.localtime(locked.converted_at).strftime("%Y-%m-%d %H:%M")
                if locked.converted_at
                else "—",
                "name": name,
            },
            existing_id=locked.converted_customer_id,
            field="status",
        )
    require(actor, "edit", locked)
    if locked.status == LeadStatus.DISQUALIFIED:
        raise ValidationFailed(_("无效线索不能转化，请先把状态改回有效"), field="status")
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion()
    owner = locked.owner or actor
    if customer is None:
        data = {**lead_customer_defaults(locked), **(customer_data or {})}
        contact_row = {**lead_contact_defaults(locked), **(contact_data or {})}
        customer = customer_create(
            actor=actor,
            data=data,
            contacts=[contact_row] if create_contact else [],
            owner=owner if owner.pk != actor.pk else None,
        )
        contact = customer.contacts.order_by("id").first() if create_contact else None
    else:
        require(actor, "view", customer)
        if contact is not None:
            if contact.customer_id != customer.pk:
                raise ValidationFailed(_("所选联系人不属于该客户"), field="contact")
            require(actor, "view", contact)
        elif create_contact:
            row = {**lead_contact_defaults(locked), **(contact_data or {})}
            contact = _same_person(customer, row) or contact_create(
                actor=actor, customer=customer, data=row
            )
    opportunity = None
    if opportunity_data is not None:
        from crm.opportunities.services import opportunity_create

        opp_data = dict(opportunity_data)
        opp_data.setdefault("source", locked.source)
        opportunity = opportunity_create(
            actor=actor,
            customer=customer,
            data=opp_data,
            contacts=[(contact, "")] if contact is not None else None,
            owner=owner,
            source_lead=locked,
        )
    moved = _history_to_timeline(locked, customer)
    now = timezone.now()
    Lead.objects.filter(pk=locked.pk).update(
        status=LeadStatus.CONVERTED,
        converted_at=now,
        converted_customer=customer,
        converted_contact=contact,
        converted_opportunity=opportunity,
        owner=locked.owner or actor,
        version=F("version") + 1,
    )
    locked.refresh_from_db()
    parts = [_("客户「%s」") % customer.name]
    if contact is not None:
        parts.append(_("联系人「%s」") % contact.name)
    if opportunity is not None:
        parts.append(_("商机「%s」") % opportunity.name)
    summary = _("转化为%s") % "、".join(parts)
    _event(
        locked,
        LeadEventKind.CONVERTED,
        actor,
        summary,
        {
            "customer": customer.pk,
            "contact": contact.pk if contact else None,
            "opportunity": opportunity.pk if opportunity is not None else None,
        },
    )
    timeline_append(
        customer_id=customer.pk,
        contact_id=contact.pk if contact else None,
        kind="lead_converted",
        actor=actor,
        summary=_("把线索「%(name)s」转化为本客户%(what)s")
        % {"name": locked.name, "what": f"（{'、'.join(parts[1:])}）" if parts[1:] else ""},
        data={"lead": locked.pk, "history": moved, "source": locked.source},
        ref_entity="lead",
        ref_id=locked.pk,
    )
    _audit(
        "update",
        actor,
        locked,
        {
            "status": ["", LeadStatus.CONVERTED],
            "customer": customer.pk,
            "contact": contact.pk if contact else None,
            "opportunity": opportunity.pk if opportunity is not None else None,
        },
    )
    search_index(locked)
    return ConvertResult(locked, customer, contact, opportunity)


# ----------------------------------------------------------------- assignment rules (admin)

RULE_FIELDS = ["name", "is_active", "match", "values", "strategy", "department", "user"]


def _admin_only(actor: Any) -> None:
    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以修改线索分配设置"))


def _rule_clean(data: dict[str, Any]) -> dict[str, Any]:
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        raise ValidationFailed(_("请填写规则名称"), field="name")
    if len(name) > 100:
        raise ValidationFailed(_("不能超过 %(n)d 个字符") % {"n": 100}, field="name")
    match = str(data.get("match") or "")
    if match not in RuleMatch.values:
        raise ValidationFailed(_("请选择匹配条件"), field="match")
    raw = data.get("values") or []
    if isinstance(raw, str):
        raw = raw.replace("，", ",").replace("、", ",").replace("\n", ",").split(",")
    values = [" ".join(str(v).split()) for v in raw if str(v).strip()]
    if match == RuleMatch.REGION:
        values = [province_normalize(v) for v in values]
    values = list(dict.fromkeys(values))
    if match != RuleMatch.ANY and not values:
        raise ValidationFailed(_("请填写要匹配的值"), field="values")
    if len(values) > 100 or any(len(v) > 100 for v in values):
        raise ValidationFailed(_("匹配值过多或过长"), field="values")
    strategy = str(data.get("strategy") or "")
    if strategy not in RuleStrategy.values:
        raise ValidationFailed(_("请选择分配方式"), field="strategy")
    department = data.get("department")
    user = data.get("user")
    if strategy == RuleStrategy.USER:
        if user is None:
            raise ValidationFailed(_("请选择指定负责人"), field="user")
        if not user.is_active:
            raise ValidationFailed(_("该用户已停用"), field="user")
        department = None
    else:
        if department is None:
            raise ValidationFailed(_("请选择团队"), field="department")
        if not isinstance(department, Department):
            raise ValidationFailed(_("请选择团队"), field="department")
        user = None
    return {
        "name": name,
        "is_active": bool(data.get("is_active", True)),
        "match": match,
        "values": values if match != RuleMatch.ANY else [],
        "strategy": strategy,
        "department": department,
        "user": user,
    }


def _rule_snapshot(rule: AssignmentRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "is_active": rule.is_active,
        "match": rule.match,
        "values": list(rule.values or []),
        "strategy": rule.strategy,
        "department": rule.department.name if rule.department else None,
        "user": rule.user.name if rule.user else None,
        "order": rule.order,
    }


@transaction.atomic
def rule_save(
    *, actor: Any, data: dict[str, Any], rule: AssignmentRule | None = None
) -> AssignmentRule:
    _admin_only(actor)
    clean = _rule_clean(data)
    if rule is None:
        last = AssignmentRule.objects.order_by("-order").values_list("order", flat=True).first()
        rule = AssignmentRule(order=(last or 0) + 10, **clean)
        rule.save()
        audit_record(action="create", actor=actor, obj=rule, changes=_rule_snapshot(rule))
        return rule
    before = _rule_snapshot(rule)
    team_changed = rule.department_id != (clean["department"].pk if clean["department"] else None)
    for key, value in clean.items():
        setattr(rule, key, value)
    if team_changed:
        rule.last_user_id = None
    rule.save()
    changes = diff(before, _rule_snapshot(rule))
    if changes:
        audit_record(action="update", actor=actor, obj=rule, changes=changes)
    return rule


@transaction.atomic
def rule_delete(*, actor: Any, rule: AssignmentRule) -> None:
    """Configuration, not a domain record: removed for good (the log keeps the rule's name)."""
    _admin_only(actor)
    audit_record(action="delete", actor=actor, obj=rule, changes=_rule_snapshot(rule))
    rule.delete()


@transaction.atomic
def rules_reorder(*, actor: Any, rule_ids: list[int]) -> None:
    """The rules in the given order (ids of every rule; the first is tried first)."""
    _admin_only(actor)
    existing = set(AssignmentRule.objects.values_list("pk", flat=True))
    if set(rule_ids) != existing or len(rule_ids) != len(existing):
        raise ValidationFailed(_("规则列表已变化，请刷新页面后重试"), field="order")
    before = list(AssignmentRule.objects.order_by("order", "id").values_list("pk", flat=True))
    for i, pk in enumerate(rule_ids):
        AssignmentRule.objects.filter(pk=pk).update(order=(i + 1) * 10)
    if before != list(rule_ids):
        audit_record(
            action="update",
            actor=actor,
            entity="assignmentrule",
            object_repr=_("线索分配规则顺序"),
            changes={"order": [before, list(rule_ids)]},
        )


@transaction.atomic
def rule_move(*, actor: Any, rule: AssignmentRule, up: bool) -> None:
    ids = list(AssignmentRule.objects.order_by("order", "id").values_list("pk", flat=True))
    i = ids.index(rule.pk)
    j = i - 1 if up else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
    rules_reorder(actor=actor, rule_ids=ids)


@transaction.atomic
def leads_settings_update(
    *,
    actor: Any,
    fallback_user: Any = ...,
    rate_per_minute: int | None = None,
) -> None:
    """fallback_user: a User, None (the pool), or ... to leave it unchanged."""
    from crm.core.config import setting_set

    _admin_only(actor)
    if fallback_user is not ...:
        if fallback_user is not None and not fallback_user.is_active:
            raise ValidationFailed(_("该用户已停用"), field="fallback_user")
        setting_set(
            actor=actor,
            key=config.ASSIGNMENT,
            value={"fallback_user_id": fallback_user.pk if fallback_user else None},
        )
    if rate_per_minute is not None:
        if not 0 <= int(rate_per_minute) <= 1000:
            raise ValidationFailed(_("必须在 0 到 1000 之间"), field="rate_per_minute")
        setting_set(
            actor=actor, key=config.CAPTURE, value={"rate_per_minute": int(rate_per_minute)}
        )


# ----------------------------------------------------------------- capture forms


def _origins_clean(text: str) -> str:
    lines = []
    for line in (text or "").replace(",", "\n").split():
        line = line.strip().rstrip("/")
        if not line:
            continue
        ok = line.startswith(("https://", "http://")) and not any(c in line for c in " ;'\",")
        if not ok or len(line) > 200:
            raise ValidationFailed(
                _("网站地址应以 https:// 或 http:// 开头，例如 https://www.example.com"),
                field="embed_origins",
            )
        lines.append(line)
    if len(lines) > 20:
        raise ValidationFailed(_("最多 20 个网站"), field="embed_origins")
    return "\n".join(dict.fromkeys(lines))


@transaction.atomic
def capture_form_save(
    *, actor: Any, data: dict[str, Any], form: CaptureForm | None = None
) -> CaptureForm:
    _admin_only(actor)
    name = " ".join(str(data.get("name") or "").split())
    if not name or len(name) > 100:
        raise ValidationFailed(_("请填写表单名称（不超过 100 个字符）"), field="name")
    source = " ".join(str(data.get("source") or "").split()) or str(_("官网表单"))
    if len(source) > 50:
        raise ValidationFailed(_("不能超过 %(n)d 个字符") % {"n": 50}, field="source")
    thank_you = str(data.get("thank_you") or "").strip()
    if len(thank_you) > 200:
        raise ValidationFailed(_("不能超过 %(n)d 个字符") % {"n": 200}, field="thank_you")
    allowed = {k for k, _label in config.CAPTURE_FIELDS}
    fields = [f for f in (data.get("fields") or []) if f in allowed]
    values = {
        "name": name,
        "source": source,
        "thank_you": thank_you,
        "fields": list(dict.fromkeys(fields)),
        "is_active": bool(data.get("is_active", True)),
        "embed_origins": _origins_clean(str(data.get("embed_origins") or "")),
    }
    if form is None:
        form = CaptureForm.objects.create(key=secrets.token_urlsafe(12), **values)
        audit_record(action="create", actor=actor, obj=form, changes=values)
        return form
    before = {k: getattr(form, k) for k in values}
    for key, value in values.items():
        setattr(form, key, value)
    form.save()
    changes = diff(before, values)
    if changes:
        audit_record(action="update", actor=actor, obj=form, changes=changes)
    return form


@transaction.atomic
def capture_form_delete(*, actor: Any, form: CaptureForm) -> None:
    _admin_only(actor)
    audit_record(action="delete", actor=actor, obj=form, changes={"name": form.name})
    form.delete()


def _rate_check(ip: str) -> None:
    limit = int(config.capture_settings().get("rate_per_minute") or 0)
    if not limit:
        return
    minute = int(timezone.now().timestamp() // 60)
    key = f"leads:capture:{ip or 'unknown'}:{minute}"
    cache.add(key, 0, timeout=70)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=70)
        count = 1
    if count > limit:
        raise TooManySubmissions()


def capture_submit(*, form: CaptureForm, data: dict[str, Any], ip: str) -> Lead | None:
    """A public form was posted: rate limit per client address, honeypot, then a lead
    created as the system (assignment rules decide the owner).

    Returns None for a filled honeypot: the bot sees the thank-you page, nothing is stored.
    """
    if not form.is_active:
        raise NotFound()
    _rate_check(ip)
    if str(data.get("website") or "").strip():
        audit_record(
            action="create",
            entity="lead",
            actor_name="system",
            object_repr=_("已拦截的垃圾提交"),
            changes={"form": form.name, "honeypot": True},
            ip=ip,
        )
        return None
    allowed = {"name", "mobile", "email", *form.fields}
    values = {k: v for k, v in data.items() if k in allowed}
    values["source"] = form.source
    with transaction.atomic():
        lead = lead_create(actor=None, data=values, system=True, source_form=form)
        CaptureForm.objects.filter(pk=form.pk).update(submissions=F("submissions") + 1)
    return lead
