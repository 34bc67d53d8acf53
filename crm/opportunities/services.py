"""Every write to opportunities (商机), their contacts, stages and the pipelines.

The stage rules live here, once, for the form, the kanban's drag-and-drop and the API:

* moving FORWARD (to a later stage, or to the won stage) needs the required fields of every
  stage entered on the way (the target included) and the ticked checklist of every stage
  left on the way (the current one included); a refusal names each missing item;
* moving back is always allowed; moving to a lost stage needs a lost reason only;
* a won/lost stage closes the opportunity (status, closed_at); moving back reopens it;
* the probability follows the stage unless someone set it by hand (closed stages always
  set it: 100 % won, 0 % lost).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access.fieldsec import require_writable
from crm.access.models import User
from crm.access.visibility import can, is_admin, require
from crm.audit.services import audit_record, diff
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.recyclebin import record_delete
from crm.core.versioning import save_with_version
from crm.customers.models import Contact, Customer, CustomerStatus
from crm.customfields.services import custom_field_defs, custom_values_clean, key_missing
from crm.opportunities.models import (
    ForecastCategory,
    Opportunity,
    OpportunityContact,
    OpportunityStatus,
    Pipeline,
    Stage,
    StageHistory,
    StageKind,
)
from crm.search.services import search_index, search_remove
from crm.timeline.services import timeline_append

# Fields of Opportunity a form or the API may write (stage, pipeline, owner, customer have
# their own paths).
OPPORTUNITY_FIELDS = [
    "name",
    "amount",
    "currency",
    "expected_close_date",
    "probability",
    "forecast_category",
    "competitors",
    "source",
    "lost_reason",
    "notes",
]
TEXT_LIMITS = {"competitors": 300, "source": 50, "lost_reason": 300, "notes": 5000}
AMOUNT_LIMIT = Decimal("1e14")

# Fields a stage may require (besides "custom.<key>" of the opportunity custom fields).
REQUIRABLE_FIELDS: dict[str, Any] = {
    "amount": gettext_lazy("金额"),
    "expected_close_date": gettext_lazy("预计成交日期"),
    "contacts": gettext_lazy("联系人及角色"),
    "competitors": gettext_lazy("竞争对手"),
    "source": gettext_lazy("来源"),
    "notes": gettext_lazy("备注"),
}
CLOSED = (StageKind.WON, StageKind.LOST)


# ----------------------------------------------------------------- pipelines


def pipelines_ensure() -> int:
    """Create the default pipelines when there is none at all (see crm.opportunities.defaults)."""
    from crm.opportunities.defaults import pipelines_create

    if Pipeline.objects.exists():
        return 0
    with transaction.atomic():
        return pipelines_create(Pipeline, Stage)


def pipeline_default() -> Pipeline:
    """The default pipeline (the data migration creates 新客户 and 续约; an empty table gets
    them back, so the product never runs without a pipeline)."""
    pipelines_ensure()
    pipeline = (
        Pipeline.objects.filter(is_active=True).order_by("-is_default", "order", "id").first()
    )
    if pipeline is None:
        raise ValidationFailed(_("还没有启用的销售流程，请管理员先配置"), field="pipeline")
    return pipeline


def _pipeline_resolve(value: Any) -> Pipeline:
    if value in (None, ""):
        return pipeline_default()
    if isinstance(value, Pipeline):
        pipeline = value
    else:
        try:
            found = Pipeline.objects.filter(pk=int(value)).first()
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(_("请选择销售流程"), field="pipeline") from exc
        if found is None:
            raise ValidationFailed(_("销售流程不存在"), field="pipeline")
        pipeline = found
    if not pipeline.is_active:
        raise ValidationFailed(_("该销售流程已停用"), field="pipeline")
    return pipeline


def pipeline_stages(pipeline: Pipeline | int) -> list[Stage]:
    """The active stages of a pipeline in order (open ones, then won, then lost)."""
    pk = pipeline.pk if isinstance(pipeline, Pipeline) else pipeline
    stages = list(Stage.objects.filter(pipeline_id=pk, is_active=True).order_by("order", "id"))
    return sorted(stages, key=_stage_rank)


def _stage_rank(stage: Stage) -> tuple[int, int, int]:
    group = {StageKind.OPEN: 0, StageKind.WON: 1, StageKind.LOST: 2}.get(stage.kind, 0)  # type: ignore[call-overload]
    return (group, stage.order, stage.pk or 0)


def _first_open(pipeline: Pipeline) -> Stage:
    for stage in pipeline_stages(pipeline):
        if stage.kind == StageKind.OPEN:
            return stage
    raise ValidationFailed(_("该销售流程没有进行中的阶段"), field="stage")


def _stage_resolve(pipeline: Pipeline, value: Any, *, field: str = "stage") -> Stage:
    if value in (None, ""):
        return _first_open(pipeline)
    if isinstance(value, Stage):
        stage: Stage | None = value
    else:
        try:
            stage = Stage.objects.filter(pk=int(value)).first()
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(_("请选择阶段"), field=field) from exc
    if stage is None or stage.pipeline_id != pipeline.pk:
        raise ValidationFailed(
            _("阶段不属于销售流程「%s」") % pipeline.name,
            field=field,
        )
    if not stage.is_active:
        raise ValidationFailed(_("阶段「%s」已停用") % stage.name, field=field)
    return stage


# ----------------------------------------------------------------- cleaning


def _text(data: dict[str, Any], key: str) -> str:
    value = str(data.get(key) or "").strip()
    limit = TEXT_LIMITS.get(key)
    if limit and len(value) > limit:
        raise ValidationFailed(_("不能超过 %(n)d 个字符") % {"n": limit}, field=key)
    return value


def amount_clean(value: Any, field: str = "amount") -> Decimal:
    if value in (None, ""):
        return Decimal("0.00")
    if isinstance(value, bool):
        raise ValidationFailed(_("金额必须是数字"), field=field)
    text = str(value).replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    try:
        number = Decimal(text.strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed(_("金额必须是数字，如 120000 或 120,000.50"), field=field) from exc
    if not number.is_finite():
        raise ValidationFailed(_("金额必须是数字，如 120000 或 120,000.50"), field=field)
    if number < 0:
        raise ValidationFailed(_("金额不能为负数"), field=field)
    if number >= AMOUNT_LIMIT:
        raise ValidationFailed(_("金额超出范围"), field=field)
    return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise ValidationFailed(_("日期格式应为 2027-03-31"), field=field) from exc


def _probability(value: Any) -> int | None:
    """None: follow the stage; otherwise 0..100 set by hand."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValidationFailed(_("赢率是 0 到 100 的整数"), field="probability")
    try:
        number = int(Decimal(str(value).strip().rstrip("%")))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationFailed(_("赢率是 0 到 100 的整数"), field="probability") from exc
    if not 0 <= number <= 100:
        raise ValidationFailed(_("赢率是 0 到 100 的整数"), field="probability")
    return number


def opportunity_clean(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate the fields present in `data` (all of them unless partial).

    "probability" comes back as None (follow the stage) or an int (set by hand).
    """
    out: dict[str, Any] = {}
    keys = [k for k in OPPORTUNITY_FIELDS if not partial or k in data]
    for key in keys:
        if key == "name":
            name = str(data.get("name") or "").strip()
            if not name:
                raise ValidationFailed(_("请填写商机名称"), field="name")
            if len(name) > 200:
                raise ValidationFailed(_("商机名称不能超过 200 个字符"), field="name")
            out["name"] = name
        elif key == "amount":
            out["amount"] = amount_clean(data.get("amount"))
        elif key == "currency":
            currency = str(data.get("currency") or "CNY").strip().upper()
            if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
                raise ValidationFailed(_("币种为 3 位字母代码，如 CNY、USD"), field="currency")
            out["currency"] = currency
        elif key == "expected_close_date":
            out["expected_close_date"] = _date(data.get(key), key)
        elif key == "probability":
            out["probability"] = _probability(data.get("probability"))
        elif key == "forecast_category":
            category = str(data.get(key) or ForecastCategory.PIPELINE)
            if category not in ForecastCategory.values:
                raise ValidationFailed(_("未知的预测类别"), field=key)
            out[key] = category
        else:
            out[key] = _text(data, key)
    return out


# ----------------------------------------------------------------- stage rules


@dataclass
class Missing:
    """One thing that keeps an opportunity out of a stage."""

    field: (
        str  # "amount", "custom.<key>", "contacts", "checklist.<stage id>.<index>", "lost_reason"
    )
    message: str
    stage: Stage | None = None
    label: str = ""


def requirable_fields() -> list[tuple[str, str]]:
    """(key, label) of everything a stage may require: built-in fields, then custom fields."""
    out = [(k, str(v)) for k, v in REQUIRABLE_FIELDS.items()]
    out += [(f"custom.{d.key}", str(d.label)) for d in custom_field_defs("opportunity")]
    return out


def requirable_label(key: str, labels: dict[str, str] | None = None) -> str:
    labels = labels if labels is not None else dict(requirable_fields())
    return labels.get(key, key)


@dataclass
class _State:
    """What the opportunity would look like after a change: the rules judge this."""

    amount: Decimal
    expected_close_date: dt.date | None
    competitors: str
    source: str
    notes: str
    custom: dict[str, Any]
    contacts: int
    checklist_done: dict[str, list[int]]

    def missing(self, key: str) -> bool:
        if key == "amount":
            return self.amount is None or self.amount <= 0
        if key == "contacts":
            return self.contacts == 0
        if key.startswith("custom."):
            return key_missing(self.custom, key[7:])
        if key in ("expected_close_date", "competitors", "source", "notes"):
            return getattr(self, key) in (None, "")
        return False  # a field no longer requirable (removed custom field): not enforced


def _passed(current: Stage | None, target: Stage, stages: list[Stage]) -> tuple[bool, list[Stage]]:
    """(forward?, the stages between current and target, target included) by rank.

    A lost opportunity has no place in the sequence: moving it anywhere but another lost
    stage counts as forward from the start, so reopening it asks for what was skipped."""
    ranks = {s.pk: i for i, s in enumerate(stages) if s.kind != StageKind.LOST}
    if target.kind == StageKind.LOST:
        return False, []
    start = -1
    if current is not None and current.kind != StageKind.LOST:
        start = ranks.get(current.pk, -1)
    end = ranks.get(target.pk)
    if end is None:  # an inactive target (cannot happen: resolved as active)
        return False, []
    if end <= start:
        return False, []
    between = [s for s in stages if s.pk in ranks and start < ranks[s.pk] <= end]
    return True, between


def stage_missing(
    *, current: Stage | None, target: Stage, state: _State, stages: list[Stage] | None = None
) -> list[Missing]:
    """Everything that keeps the opportunity from moving from `current` to `target`."""
    stages = stages if stages is not None else pipeline_stages(target.pipeline_id)
    forward, entered = _passed(current, target, stages)
    if not forward:
        return []
    labels = dict(requirable_fields())
    out: list[Missing] = []
    seen: set[str] = set()
    # Checklists of the stages LEFT on the way: the current one and the entered ones before
    # the target (the target's own checklist is for leaving it later).
    left: list[Stage] = []
    if current is not None and current.kind == StageKind.OPEN and current.pk != target.pk:
        left.append(current)
    left += [s for s in entered if s.pk != target.pk and s.kind == StageKind.OPEN]
    for stage in left:
        done = set(state.checklist_done.get(str(stage.pk)) or [])
        for i, item in enumerate(stage.checklist or []):
            if i not in done:
                out.append(
                    Missing(
                        field=f"checklist.{stage.pk}.{i}",
                        message=_("请勾选「%(stage)s」的检查项：%(item)s")
                        % {"stage": stage.name, "item": item},
                        stage=stage,
                        label=str(item),
                    )
                )
    for stage in entered:
        for key in stage.required_fields or []:
            if key in seen or not state.missing(key):
                continue
            seen.add(key)
            label = requirable_label(key, labels)
            out.append(
                Missing(
                    field=key,
                    message=_("进入「%(stage)s」需要填写%(field)s")
                    % {"stage": stage.name, "field": label},
                    stage=stage,
                    label=label,
                )
            )
    return out


def stage_refusal(target: Stage, missing: list[Missing]) -> ValidationFailed:
    fields = [m.label for m in missing if not m.field.startswith("checklist.")]
    items = [m.label for m in missing if m.field.startswith("checklist.")]
    parts = []
    if fields:
        parts.append(_("填写 %s") % "、".join(fields))
    if items:
        parts.append(_("勾选检查项 %s") % "、".join(f"「{i}」" for i in items))
    message = _("还不能进入「%(stage)s」：请先%(what)s") % {
        "stage": target.name,
        "what": _("，并").join(parts),
    }
    return ValidationFailed(
        message, errors=[{"field": m.field, "message": m.message} for m in missing]
    )


def _state(
    opp: Opportunity,
    *,
    values: dict[str, Any] | None = None,
    custom: dict[str, Any] | None = None,
    contacts: int | None = None,
    checklist_done: dict[str, list[int]] | None = None,
) -> _State:
    v = values or {}

    def pick(key: str) -> Any:
        return v[key] if key in v else getattr(opp, key)

    if contacts is None:
        contacts = opp.contact_roles.count() if opp.pk else 0
    return _State(
        amount=pick("amount"),
        expected_close_date=pick("expected_close_date"),
        competitors=pick("competitors"),
        source=pick("source"),
        notes=pick("notes"),
        custom=custom if custom is not None else dict(opp.custom or {}),
        contacts=contacts,
        checklist_done=checklist_done if checklist_done is not None else opp.checklist_done or {},
    )


def _ticks_merge(
    existing: dict[str, list[int]],
    ticks: Mapping[Any, Iterable[Any]] | None,
    stages: list[Stage],
) -> dict[str, list[int]]:
    """Add ticks {stage id: [item index]} (only adds: unticking is its own action)."""
    out = {k: list(v) for k, v in (existing or {}).items()}
    by_id = {s.pk: s for s in stages}
    for raw_stage, raw_items in (ticks or {}).items():
        try:
            stage = by_id.get(int(raw_stage))
        except (TypeError, ValueError):
            stage = None
        if stage is None:
            raise ValidationFailed(_("检查项不属于该销售流程"), field="checklist")
        size = len(stage.checklist or [])
        done = set(out.get(str(stage.pk), []))
        for raw in raw_items or []:
            try:
                index = int(raw)
            except (TypeError, ValueError) as exc:
                raise ValidationFailed(_("未知的检查项"), field="checklist") from exc
            if not 0 <= index < size:
                raise ValidationFailed(_("未知的检查项"), field="checklist")
            done.add(index)
        out[str(stage.pk)] = sorted(done)
    return out


def _probability_for(stage: Stage, manual: int | None, keep_manual: bool, current: int) -> int:
    if stage.kind in CLOSED:
        return stage.probability
    if manual is not None:
        return manual
    if keep_manual:
        return current
    return stage.probability


# ----------------------------------------------------------------- contacts


def _contact_rows(customer: Customer, contacts: Iterable[Any] | None) -> list[tuple[Contact, str]]:
    """[(Contact, role)] from tuples or {"contact": Contact|id, "role": str} dicts, each
    contact of this customer, once."""
    rows: list[tuple[Contact, str]] = []
    seen: set[int] = set()
    for item in contacts or []:
        if isinstance(item, dict):
            contact, role = item.get("contact"), item.get("role", "")
        else:
            contact, role = item[0], item[1] if len(item) > 1 else ""
        if not isinstance(contact, Contact):
            try:
                contact = Contact.objects.filter(pk=int(contact)).first()  # type: ignore[arg-type]
            except (TypeError, ValueError):
                contact = None
        if contact is None or contact.customer_id != customer.pk:
            raise ValidationFailed(_("联系人不属于该客户"), field="contacts")
        role = str(role or "").strip()
        if len(role) > 50:
            raise ValidationFailed(_("角色不能超过 50 个字符"), field="contacts")
        if contact.pk in seen:
            continue
        seen.add(contact.pk)
        rows.append((contact, role))
    return rows


# ----------------------------------------------------------------- events


def _timeline(
    opp: Opportunity, *, kind: str, actor: Any, summary: str, data: dict[str, Any] | None = None
) -> None:
    timeline_append(
        customer_id=opp.customer_id,
        kind=kind,
        actor=actor,
        summary=summary,
        data={"opportunity_id": opp.pk, "opportunity": opp.name, **(data or {})},
        ref_entity="opportunity",
        ref_id=opp.pk,
    )


def _history(
    opp: Opportunity, *, actor: Any, from_stage: Stage | None, to_stage: Stage, since: Any, now: Any
) -> StageHistory:
    seconds = max(0, int((now - since).total_seconds())) if from_stage is not None else 0
    return StageHistory.objects.create(
        opportunity=opp,
        from_stage=from_stage,
        to_stage=to_stage,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        at=now,
        seconds_in_from=seconds,
    )


# ----------------------------------------------------------------- create


def _owner_check(actor: Any, owner: Any) -> User:
    if owner is None or owner == actor:
        return actor
    if not isinstance(owner, User) or not owner.is_active:
        raise ValidationFailed(_("请选择在职人员作为负责人"), field="owner")
    require_writable(actor, "opportunity", ["owner"])
    return owner


@transaction.atomic
def opportunity_create(
    *,
    actor: Any,
    customer: Customer,
    data: dict[str, Any],
    contacts: list[tuple[Contact, str]] | None = None,
    owner: Any = None,
    source_lead: Any = None,
    custom: dict[str, Any] | None = None,
) -> Opportunity:
    """A new opportunity, by default on the first open stage of the default pipeline.

    Created directly in a later stage, the required fields of every stage up to it must be
    filled (their checklists are not asked for: nothing could have been ticked yet)."""
    require(actor, "create", Opportunity)
    require(actor, "view", customer)
    if customer.deleted_at is not None:
        raise NotFound()
    clean = opportunity_clean({k: v for k, v in data.items() if k in OPPORTUNITY_FIELDS})
    manual = clean.pop("probability")
    pipeline = _pipeline_resolve(data.get("pipeline"))
    stage = _stage_resolve(pipeline, data.get("stage"))
    stages = pipeline_stages(pipeline)
    owner = _owner_check(actor, owner)
    rows = _contact_rows(customer, contacts)
    values = custom_values_clean(entity="opportunity", values=custom, existing={})
    opp = Opportunity(
        customer=customer,
        pipeline=pipeline,
        stage=stage,
        owner=owner,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        source_lead=source_lead,
        custom=values,
        **clean,
    )
    state = _state(opp, custom=values, contacts=len(rows), checklist_done={})
    missing = [
        m
        for m in stage_missing(current=None, target=stage, state=state, stages=stages)
        if not m.field.startswith("checklist.")
    ]
    if stage.kind == StageKind.LOST and not clean.get("lost_reason"):
        missing.append(Missing("lost_reason", _("请填写输单原因"), stage, _("输单原因")))
    if missing:
        raise stage_refusal(stage, missing)
    now = timezone.now()
    opp.probability = _probability_for(stage, manual, False, 0)
    opp.probability_manual = manual is not None and stage.kind not in CLOSED
    opp.stage_entered_at = now
    opp.status = _status_for(stage)
    opp.closed_at = now if stage.kind in CLOSED else None
    opp.save()
    for contact, role in rows:
        OpportunityContact.objects.create(opportunity=opp, contact=contact, role=role)
    _history(opp, actor=actor, from_stage=None, to_stage=stage, since=now, now=now)
    _timeline(
        opp,
        kind="opportunity_created",
        actor=actor,
        summary=_("新建商机「%(name)s」（%(stage)s）") % {"name": opp.name, "stage": stage.name},
        data={"stage": stage.name, "pipeline": pipeline.name},
    )
    if stage.kind in CLOSED:
        _closed_timeline(opp, actor=actor, stage=stage)
    audit_record(
        action="create",
        actor=actor,
        obj=opp,
        changes={
            "customer": customer.pk,
            "pipeline": pipeline.name,
            "stage": stage.name,
            "amount": opp.amount,
            "owner": owner.pk,
            **({"source_lead": source_lead.pk} if source_lead is not None else {}),
        },
    )
    search_index(opp)
    return opp


def _status_for(stage: Stage) -> str:
    if stage.kind == StageKind.WON:
        return OpportunityStatus.WON
    if stage.kind == StageKind.LOST:
        return OpportunityStatus.LOST
    return OpportunityStatus.OPEN


def _closed_timeline(opp: Opportunity, *, actor: Any, stage: Stage) -> None:
    if stage.kind == StageKind.WON:
        # The customer's 最近成交 date drives the pool rule "not converted within M days",
        # and a customer with a won deal is 已成交.
        Customer.objects.filter(pk=opp.customer_id).update(
            last_won_at=opp.closed_at or timezone.now(), status=CustomerStatus.WON
        )
        _timeline(
            opp,
            kind="won",
            actor=actor,
            summary=_("商机「%s」赢单") % opp.name,
            data={"stage": stage.name},
        )
    else:
        _timeline(
            opp,
            kind="lost",
            actor=actor,
            summary=_("商机「%(name)s」输单：%(reason)s")
            % {"name": opp.name, "reason": opp.lost_reason},
            data={"stage": stage.name, "lost_reason": opp.lost_reason},
        )


# ----------------------------------------------------------------- move


def opportunity_move_missing(
    *, opportunity: Opportunity, stage: Any
) -> tuple[Stage, list[Missing]]:
    """What a move to `stage` would still need now (a read: the move form shows it)."""
    opp = opportunity
    target = _stage_resolve(opp.pipeline, stage)
    stages = pipeline_stages(opp.pipeline_id)
    missing = stage_missing(current=opp.stage, target=target, state=_state(opp), stages=stages)
    if target.kind == StageKind.LOST and target.pk != opp.stage_id and not opp.lost_reason:
        missing.append(Missing("lost_reason", _("请填写输单原因"), target, _("输单原因")))
    return target, missing


@transaction.atomic
def opportunity_move(
    *,
    actor: Any,
    opportunity: Opportunity,
    stage: Any,
    expected_version: int | None,
    data: dict[str, Any] | None = None,
    checklist: list[int] | None = None,
    lost_reason: str = "",
    checklists: dict[Any, list[int]] | None = None,
    custom: dict[str, Any] | None = None,
) -> Opportunity:
    """Move to `stage` (a Stage or its id, of the same pipeline) with the stage rules.

    `data` may fill fields on the way (the same keys as opportunity_update, plus
    "contacts": [(Contact, role)] to add and "custom": {...}); `checklist` ticks items (by
    index) of the current stage, `checklists` {stage id: [index]} of any stage. A refusal
    is a ValidationFailed whose `errors` name each missing field ("amount",
    "custom.<key>", "contacts", "lost_reason") and unticked item ("checklist.<stage>.<i>");
    nothing is saved then.
    """
    opp = opportunity
    require(actor, "edit", opp)
    target = _stage_resolve(opp.pipeline, stage)
    current = opp.stage
    data = dict(data or {})
    extra_contacts = data.pop("contacts", None)
    custom_in = custom if custom is not None else data.pop("custom", None)
    data.pop("custom", None)
    if lost_reason:
        data["lost_reason"] = lost_reason
    clean = opportunity_clean(
        {k: v for k, v in data.items() if k in OPPORTUNITY_FIELDS}, partial=True
    )
    manual = clean.pop("probability", None) if "probability" in clean else None
    probability_sent = "probability" in data
    before = {k: getattr(opp, k) for k in OPPORTUNITY_FIELDS}
    changed = [k for k in clean if clean[k] != before.get(k)]
    if probability_sent:
        changed.append("probability")
    require_writable(actor, "opportunity", changed)
    values = custom_values_clean(entity="opportunity", values=custom_in, existing=opp.custom)
    stages = pipeline_stages(opp.pipeline_id)
    ticks: dict[Any, list[int]] = dict(checklists or {})
    if checklist:
        ticks[current.pk] = [*ticks.get(current.pk, []), *checklist]
    done = _ticks_merge(opp.checklist_done or {}, ticks, stages)
    rows = _contact_rows(opp.customer, extra_contacts)
    existing_ids = set(opp.contact_roles.values_list("contact_id", flat=True))
    new_rows = [(c, r) for c, r in rows if c.pk not in existing_ids]
    state = _state(
        opp,
        values=clean,
        custom=values,
        contacts=len(existing_ids) + len(new_rows),
        checklist_done=done,
    )
    missing = stage_missing(current=current, target=target, state=state, stages=stages)
    reason = clean.get("lost_reason", opp.lost_reason)
    if target.kind == StageKind.LOST and not reason:
        missing.append(Missing("lost_reason", _("请填写输单原因"), target, _("输单原因")))
    if missing:
        raise stage_refusal(target, missing)
    if (
        target.pk == current.pk
        and not clean
        and custom_in is None
        and not new_rows
        and done == (opp.checklist_done or {})
    ):
        return opp  # dropped back on its own column: nothing to do

    now = timezone.now()
    since = opp.stage_entered_at
    moved = target.pk != current.pk
    for key, value in clean.items():
        setattr(opp, key, value)
    if target.kind != StageKind.LOST and moved:
        opp.lost_reason = ""  # reopened or won: the old reason no longer applies
    keep_manual = opp.probability_manual and not probability_sent
    opp.probability = _probability_for(target, manual, keep_manual, opp.probability)
    if probability_sent:
        opp.probability_manual = manual is not None
    opp.custom = values
    opp.checklist_done = done
    fields = [*clean.keys(), "lost_reason", "probability", "probability_manual", "custom"]
    fields += ["checklist_done"]
    if moved:
        opp.stage = target
        opp.stage_entered_at = now
        opp.status = _status_for(target)
        if target.kind in CLOSED:
            opp.closed_at = now
        else:
            opp.closed_at = None
        fields += ["stage", "stage_entered_at", "status", "closed_at"]
    save_with_version(opp, expected_version=expected_version, fields=sorted(set(fields)))
    for contact, role in new_rows:
        OpportunityContact.objects.create(opportunity=opp, contact=contact, role=role)
    changes = diff(before, {k: getattr(opp, k) for k in OPPORTUNITY_FIELDS})
    if moved:
        changes["stage"] = [current.name, target.name]
        _history(opp, actor=actor, from_stage=current, to_stage=target, since=since, now=now)
        if target.kind in CLOSED:
            _closed_timeline(opp, actor=actor, stage=target)
        else:
            _timeline(
                opp,
                kind="opportunity_stage",
                actor=actor,
                summary=_("商机「%(name)s」阶段：%(a)s → %(b)s")
                % {"name": opp.name, "a": current.name, "b": target.name},
                data={"stage_from": current.name, "stage_to": target.name},
            )
    if new_rows:
        changes["contacts_added"] = [c.pk for c, _r in new_rows]
    if changes or done != before.get("checklist_done"):
        audit_record(action="update", actor=actor, obj=opp, changes=changes)
    search_index(opp)
    return opp


# ----------------------------------------------------------------- update / delete


@transaction.atomic
def opportunity_update(
    *,
    actor: Any,
    opportunity: Opportunity,
    expected_version: int | None,
    data: dict[str, Any] | None = None,
    custom: dict[str, Any] | None = None,
    owner: Any = None,
) -> Opportunity:
    """Change fields (not the stage: that is opportunity_move, with its rules).

    A stage's required field cannot be emptied while the opportunity is at or past that
    stage. "probability": a number sets it by hand, None/"" lets the stage decide again."""
    opp = opportunity
    require(actor, "edit", opp)
    data = {k: v for k, v in (data or {}).items() if k in OPPORTUNITY_FIELDS}
    clean = opportunity_clean(data, partial=True)
    probability_sent = "probability" in clean
    manual = clean.pop("probability", None)
    before = {k: getattr(opp, k) for k in [*OPPORTUNITY_FIELDS, "custom", "owner_id"]}
    changed = [k for k in clean if clean[k] != before.get(k)]
    if probability_sent and (
        (manual is not None) != opp.probability_manual
        or (manual is not None and manual != opp.probability)
    ):
        changed.append("probability")
    if owner is not None and owner.pk != opp.owner_id:
        changed.append("owner")
        if not owner.is_active:
            raise ValidationFailed(_("请选择在职人员作为负责人"), field="owner")
    require_writable(actor, "opportunity", changed)
    values = custom_values_clean(entity="opportunity", values=custom, existing=opp.custom)
    stage = opp.stage
    if stage.kind == StageKind.LOST and "lost_reason" in clean and not clean["lost_reason"]:
        raise ValidationFailed(_("输单的商机需要输单原因"), field="lost_reason")
    # Fields required by the stages already reached stay filled.
    state = _state(opp, values=clean, custom=values)
    was = _state(opp)
    reached = _reached(stage, pipeline_stages(opp.pipeline_id))
    labels = dict(requirable_fields())
    for s in reached:
        for key in s.required_fields or []:
            # Only clearing is refused: a field that was already empty (a stage rule added
            # later) does not block unrelated edits.
            if key != "contacts" and state.missing(key) and not was.missing(key):
                raise ValidationFailed(
                    _("「%(stage)s」阶段要求填写%(field)s，不能清空")
                    % {"stage": s.name, "field": requirable_label(key, labels)},
                    field=key,
                )
    for key, value in clean.items():
        setattr(opp, key, value)
    fields = [*clean.keys(), "custom"]
    if probability_sent:
        opp.probability_manual = manual is not None and stage.kind not in CLOSED
        opp.probability = _probability_for(stage, manual, False, opp.probability)
        fields += ["probability", "probability_manual"]
    opp.custom = values
    if owner is not None:
        opp.owner = owner
        fields.append("owner")
    save_with_version(opp, expected_version=expected_version, fields=fields)
    after = {k: getattr(opp, k) for k in before}
    changes = diff(before, after)
    if changes:
        audit_record(action="update", actor=actor, obj=opp, changes=changes)
    search_index(opp)
    return opp


def _reached(stage: Stage, stages: list[Stage]) -> list[Stage]:
    """The stages an opportunity at `stage` has passed through (by rank), itself included."""
    if stage.kind == StageKind.LOST:
        return [stage]
    ranked = [s for s in stages if s.kind != StageKind.LOST]
    out = []
    for s in ranked:
        out.append(s)
        if s.pk == stage.pk:
            return out
    return [stage]


@transaction.atomic
def opportunity_delete(*, actor: Any, opportunity: Opportunity) -> Opportunity:
    """To the recycle bin (restorable by whoever may delete it)."""
    record_delete(actor=actor, obj=opportunity)
    search_remove("opportunity", opportunity.pk)
    _timeline(
        opportunity,
        kind="deleted",
        actor=actor,
        summary=_("删除了商机「%s」（可在回收站恢复）") % opportunity.name,
    )
    return opportunity


def opportunity_after_restore(opp: Any, actor: Any) -> None:
    """Recycle-bin hook: back in the search index and on the customer's timeline."""
    search_index(opp)
    _timeline(opp, kind="restored", actor=actor, summary=_("恢复了商机「%s」") % opp.name)


# ----------------------------------------------------------------- contacts and checklist


@transaction.atomic
def opportunity_contact_set(
    *, actor: Any, opportunity: Opportunity, contact: Contact, role: str = ""
) -> OpportunityContact:
    """Add a contact of the customer to the deal, or change their role in it."""
    require(actor, "edit", opportunity)
    ((contact, role),) = _contact_rows(opportunity.customer, [(contact, role)])
    link, created = OpportunityContact.objects.get_or_create(
        opportunity=opportunity, contact=contact, defaults={"role": role}
    )
    old = None if created else link.role
    if not created and link.role != role:
        link.role = role
        link.save(update_fields=["role"])
    if created or old != role:
        audit_record(
            action="update",
            actor=actor,
            obj=opportunity,
            changes={"contact": [contact.pk, contact.name], "role": [old, role]},
        )
    return link


@transaction.atomic
def opportunity_contact_remove(*, actor: Any, opportunity: Opportunity, contact_id: int) -> None:
    require(actor, "edit", opportunity)
    link = OpportunityContact.objects.filter(opportunity=opportunity, contact_id=contact_id).first()
    if link is None:
        raise NotFound()
    reached = _reached(opportunity.stage, pipeline_stages(opportunity.pipeline_id))
    needs_contact = any("contacts" in (s.required_fields or []) for s in reached)
    if needs_contact and opportunity.contact_roles.count() <= 1:
        raise ValidationFailed(_("当前阶段要求至少一位联系人，不能移除最后一位"), field="contacts")
    link.delete()  # a link row, not a domain record: the audit keeps who removed whom
    audit_record(
        action="update",
        actor=actor,
        obj=opportunity,
        changes={"contact_removed": contact_id},
    )


@transaction.atomic
def opportunity_checklist_tick(
    *, actor: Any, opportunity: Opportunity, stage: Any, index: int, done: bool
) -> Opportunity:
    """Tick (or untick) one checklist item of one stage of the opportunity's pipeline."""
    opp = opportunity
    require(actor, "edit", opp)
    target = _stage_resolve(opp.pipeline, stage)
    size = len(target.checklist or [])
    if not 0 <= int(index) < size:
        raise ValidationFailed(_("未知的检查项"), field="checklist")
    current = {k: list(v) for k, v in (opp.checklist_done or {}).items()}
    items = set(current.get(str(target.pk), []))
    if done:
        items.add(int(index))
    else:
        items.discard(int(index))
    current[str(target.pk)] = sorted(items)
    if current == (opp.checklist_done or {}):
        return opp
    opp.checklist_done = current
    save_with_version(opp, expected_version=None, fields=["checklist_done"])
    audit_record(
        action="update",
        actor=actor,
        obj=opp,
        changes={
            "checklist": [target.name, str(target.checklist[int(index)]), bool(done)],
        },
    )
    return opp


# ----------------------------------------------------------------- pipelines (administrators)

PIPELINE_FIELDS = ["name", "description", "is_default", "is_active", "order"]
STAGE_FIELDS = [
    "name",
    "kind",
    "probability",
    "time_limit_days",
    "required_fields",
    "checklist",
    "is_active",
    "order",
]


def _admin_only(actor: Any) -> None:
    if not is_admin(actor):
        raise PermissionDenied(_("只有系统管理员可以配置销售流程"))


def _pipeline_clean(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not partial or "name" in data:
        name = str(data.get("name") or "").strip()
        if not name:
            raise ValidationFailed(_("请填写流程名称"), field="name")
        if len(name) > 50:
            raise ValidationFailed(_("流程名称不能超过 50 个字符"), field="name")
        out["name"] = name
    if not partial or "description" in data:
        text = str(data.get("description") or "").strip()
        if len(text) > 200:
            raise ValidationFailed(_("说明不能超过 200 个字符"), field="description")
        out["description"] = text
    for key in ("is_default", "is_active"):
        if key in data:
            out[key] = bool(data[key])
    if "order" in data:
        out["order"] = _small_int(data["order"], "order", 0, 32767)
    return out


def _small_int(value: Any, field: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(_("必须是整数"), field=field) from exc
    if not low <= number <= high:
        raise ValidationFailed(_("应在 %(a)d 到 %(b)d 之间") % {"a": low, "b": high}, field=field)
    return number


def _stage_clean(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not partial or "name" in data:
        name = str(data.get("name") or "").strip()
        if not name:
            raise ValidationFailed(_("请填写阶段名称"), field="name")
        if len(name) > 50:
            raise ValidationFailed(_("阶段名称不能超过 50 个字符"), field="name")
        out["name"] = name
    if not partial or "kind" in data:
        kind = str(data.get("kind") or StageKind.OPEN)
        if kind not in StageKind.values:
            raise ValidationFailed(_("未知的阶段类型"), field="kind")
        out["kind"] = kind
    if not partial or "probability" in data:
        out["probability"] = _small_int(data.get("probability", 10), "probability", 0, 100)
    if not partial or "time_limit_days" in data:
        limit = data.get("time_limit_days")
        out["time_limit_days"] = (
            None if limit in (None, "") else _small_int(limit, "time_limit_days", 1, 3650)
        )
    if not partial or "required_fields" in data:
        keys = data.get("required_fields") or []
        if isinstance(keys, str):
            keys = [k.strip() for k in keys.split(",") if k.strip()]
        allowed = dict(requirable_fields())
        bad = [str(k) for k in keys if k not in allowed]
        if bad:
            raise ValidationFailed(
                _("未知的必填字段：%s") % "、".join(bad)[:100], field="required_fields"
            )
        out["required_fields"] = list(dict.fromkeys(str(k) for k in keys))
    if not partial or "checklist" in data:
        items = data.get("checklist") or []
        if isinstance(items, str):
            items = items.splitlines()
        clean = [str(i).strip() for i in items if str(i).strip()]
        if len(clean) > 20:
            raise ValidationFailed(_("检查项最多 20 条"), field="checklist")
        if any(len(i) > 100 for i in clean):
            raise ValidationFailed(_("每条检查项不能超过 100 个字符"), field="checklist")
        out["checklist"] = clean
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    if "order" in data:
        out["order"] = _small_int(data["order"], "order", 0, 32767)
    return out


def _default_only_one(pipeline: Pipeline) -> None:
    if pipeline.is_default:
        Pipeline.objects.exclude(pk=pipeline.pk).filter(is_default=True).update(is_default=False)


def _pipeline_check(pipeline: Pipeline) -> None:
    """A usable pipeline: at least one open, one won and one lost active stage."""
    stages = pipeline_stages(pipeline)
    kinds = {s.kind for s in stages}
    if pipeline.is_active and not {StageKind.OPEN, StageKind.WON, StageKind.LOST} <= kinds:
        raise ValidationFailed(
            _("销售流程至少需要一个进行中阶段、一个赢单阶段和一个输单阶段"), field="stages"
        )
    if pipeline.is_default and not pipeline.is_active:
        raise ValidationFailed(_("默认流程不能停用"), field="is_active")


@transaction.atomic
def pipeline_create(
    *, actor: Any, data: dict[str, Any], stages: list[dict[str, Any]] | None = None
) -> Pipeline:
    """A new pipeline; without `stages` it starts with 初步接洽 / 赢单 / 输单."""
    _admin_only(actor)
    clean = _pipeline_clean(data, partial=False)
    if Pipeline.objects.filter(name=clean["name"]).exists():
        raise ValidationFailed(_("已有同名的销售流程"), field="name")
    if "order" not in clean:
        top = Pipeline.objects.aggregate(m=Max("order"))["m"] or 0
        clean["order"] = top + 10
    pipeline = Pipeline.objects.create(**clean)
    _default_only_one(pipeline)
    rows = stages or [
        {"name": _("初步接洽"), "kind": "open", "probability": 10, "time_limit_days": 14},
        {"name": _("赢单"), "kind": "won", "probability": 100},
        {"name": _("输单"), "kind": "lost", "probability": 0},
    ]
    for i, row in enumerate(rows):
        try:
            stage_clean = _stage_clean(row, partial=False)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field=f"stages.{i}.{exc.field}") from exc
        stage_clean.setdefault("order", (i + 1) * 10)
        if Stage.objects.filter(pipeline=pipeline, name=stage_clean["name"]).exists():
            raise ValidationFailed(_("阶段名称重复"), field=f"stages.{i}.name")
        Stage.objects.create(pipeline=pipeline, **stage_clean)
    _pipeline_check(pipeline)
    audit_record(
        action="config",
        actor=actor,
        obj=pipeline,
        changes={**clean, "stages": [str(r.get("name")) for r in rows]},
    )
    return pipeline


@transaction.atomic
def pipeline_update(*, actor: Any, pipeline: Pipeline, data: dict[str, Any]) -> Pipeline:
    _admin_only(actor)
    _pipeline_fields_save(actor=actor, pipeline=pipeline, data=data)
    _pipeline_check(pipeline)
    return pipeline


def _pipeline_fields_save(*, actor: Any, pipeline: Pipeline, data: dict[str, Any]) -> None:
    clean = _pipeline_clean(data, partial=True)
    if (
        "name" in clean
        and Pipeline.objects.filter(name=clean["name"]).exclude(pk=pipeline.pk).exists()
    ):
        raise ValidationFailed(_("已有同名的销售流程"), field="name")
    if clean.get("is_default") is False and pipeline.is_default:
        raise ValidationFailed(_("请把另一个流程设为默认，而不是取消默认"), field="is_default")
    before = {k: getattr(pipeline, k) for k in PIPELINE_FIELDS}
    for key, value in clean.items():
        setattr(pipeline, key, value)
    pipeline.save()
    _default_only_one(pipeline)
    changes = diff(before, {k: getattr(pipeline, k) for k in PIPELINE_FIELDS})
    if changes:
        audit_record(action="config", actor=actor, obj=pipeline, changes=changes)


@transaction.atomic
def stage_create(*, actor: Any, pipeline: Pipeline, data: dict[str, Any]) -> Stage:
    _admin_only(actor)
    stage = _stage_create(actor=actor, pipeline=pipeline, data=data)
    _pipeline_check(pipeline)
    return stage


def _stage_create(*, actor: Any, pipeline: Pipeline, data: dict[str, Any]) -> Stage:
    clean = _stage_clean(data, partial=False)
    if Stage.objects.filter(pipeline=pipeline, name=clean["name"]).exists():
        raise ValidationFailed(_("该流程已有同名阶段"), field="name")
    if "order" not in clean:
        # A new open stage goes after the open ones; won/lost at the end.
        top = Stage.objects.filter(pipeline=pipeline).aggregate(m=Max("order"))["m"] or 0
        clean["order"] = top + 10
    stage = Stage.objects.create(pipeline=pipeline, **clean)
    audit_record(
        action="config",
        actor=actor,
        obj=stage,
        entity="pipeline",
        object_id=pipeline.pk,
        object_repr=f"{pipeline.name} / {stage.name}",
        changes={"stage_created": clean},
    )
    return stage


@transaction.atomic
def stage_update(*, actor: Any, stage: Stage, data: dict[str, Any]) -> Stage:
    _admin_only(actor)
    _stage_update(actor=actor, stage=stage, data=data)
    _pipeline_check(stage.pipeline)
    return stage


def _stage_update(*, actor: Any, stage: Stage, data: dict[str, Any]) -> Stage:
    clean = _stage_clean(data, partial=True)
    if (
        "name" in clean
        and Stage.objects.filter(pipeline_id=stage.pipeline_id, name=clean["name"])
        .exclude(pk=stage.pk)
        .exists()
    ):
        raise ValidationFailed(_("该流程已有同名阶段"), field="name")
    if (
        "kind" in clean
        and clean["kind"] != stage.kind
        and Opportunity.all_objects.filter(stage=stage).exists()
    ):
        raise ValidationFailed(
            _("阶段上已有商机，不能改变类型；可新建阶段后停用本阶段"), field="kind"
        )
    if (
        clean.get("is_active") is False
        and stage.opportunities.filter(status=OpportunityStatus.OPEN).exists()
    ):
        raise ValidationFailed(
            _("阶段上还有进行中的商机，请先把它们移到其他阶段"), field="is_active"
        )
    before = {k: getattr(stage, k) for k in STAGE_FIELDS}
    for key, value in clean.items():
        setattr(stage, key, value)
    stage.save()
    changes = diff(before, {k: getattr(stage, k) for k in STAGE_FIELDS})
    if changes:
        audit_record(
            action="config",
            actor=actor,
            entity="pipeline",
            object_id=stage.pipeline_id,
            object_repr=f"{stage.pipeline.name} / {stage.name}",
            changes={f"stage.{k}": v for k, v in changes.items()},
        )
    return stage


@transaction.atomic
def pipeline_admin_save(
    *,
    actor: Any,
    pipeline: Pipeline,
    data: dict[str, Any] | None = None,
    stages: list[dict[str, Any]] | None = None,
) -> Pipeline:
    """One save of the pipeline editor: its fields, then its stages in the given order (a
    row with "id" updates that stage, without creates one; stages not given keep their
    place after the given ones). Checked as a whole at the end."""
    _admin_only(actor)
    if data:
        _pipeline_fields_save(actor=actor, pipeline=pipeline, data=data)
    if stages is not None:
        own = {s.pk: s for s in Stage.objects.filter(pipeline=pipeline)}
        order: list[int] = []
        for i, row in enumerate(stages):
            row = dict(row)
            pk = row.pop("id", None)
            try:
                if pk:
                    stage = own.get(int(pk))
                    if stage is None:
                        raise ValidationFailed(_("阶段不属于该流程"), field="id")
                    _stage_update(actor=actor, stage=stage, data=row)
                else:
                    stage = _stage_create(actor=actor, pipeline=pipeline, data=row)
            except ValidationFailed as exc:
                raise ValidationFailed(exc.message, field=f"stages.{i}.{exc.field}") from exc
            order.append(stage.pk)
        rest = [s.pk for s in pipeline_stages(pipeline) if s.pk not in order]
        rest += [
            s.pk
            for s in Stage.objects.filter(pipeline=pipeline, is_active=False).order_by("order")
            if s.pk not in order and s.pk not in rest
        ]
        _stage_reorder(actor=actor, pipeline=pipeline, stage_ids=order + rest)
    _pipeline_check(pipeline)
    return pipeline


@transaction.atomic
def stage_reorder(*, actor: Any, pipeline: Pipeline, stage_ids: list[int]) -> list[Stage]:
    """Set the order of the pipeline's stages to the order of `stage_ids`."""
    _admin_only(actor)
    return _stage_reorder(actor=actor, pipeline=pipeline, stage_ids=stage_ids)


def _stage_reorder(*, actor: Any, pipeline: Pipeline, stage_ids: list[int]) -> list[Stage]:
    stages = {s.pk: s for s in Stage.objects.filter(pipeline=pipeline)}
    if set(stage_ids) != set(stages) or len(stage_ids) != len(stages):
        raise ValidationFailed(_("请给出该流程的全部阶段"), field="stage_ids")
    before = [s.name for s in sorted(stages.values(), key=_stage_rank)]
    for i, pk in enumerate(stage_ids):
        stage = stages[pk]
        if stage.order != (i + 1) * 10:
            stage.order = (i + 1) * 10
            stage.save(update_fields=["order", "updated_at"])
    after = pipeline_stages(pipeline)
    if before != [s.name for s in after]:
        audit_record(
            action="config",
            actor=actor,
            obj=pipeline,
            changes={"stage_order": [before, [s.name for s in after]]},
        )
    return after


@transaction.atomic
def stage_delete(*, actor: Any, stage: Stage) -> None:
    """Remove a stage no opportunity ever used (otherwise deactivate it)."""
    _admin_only(actor)
    used = (
        Opportunity.all_objects.filter(stage=stage).exists()
        or StageHistory.objects.filter(from_stage=stage).exists()
        or StageHistory.objects.filter(to_stage=stage).exists()
    )
    if used:
        raise ValidationFailed(_("该阶段已被商机使用过，不能删除；可以停用它"), field="stage")
    pipeline = stage.pipeline
    name = stage.name
    stage.delete()  # configuration, never used by a record: nothing to keep
    _pipeline_check(pipeline)
    audit_record(
        action="config",
        actor=actor,
        obj=pipeline,
        changes={"stage_deleted": name},
    )


def stage_can_view(actor: Any) -> bool:
    return can(actor, "view", Pipeline)
