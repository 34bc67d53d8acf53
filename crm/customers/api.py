"""Customers, contacts, tags, custom fields, the public pool (公海) and handover (离职交接).

Thin: parse input, call one selector or service, render. Reads go through
crm.customers.selectors (the permission layer), writes through crm.customers.services, and
every record leaves through crm.access.fieldsec.present() (hidden fields absent, masked ones
masked).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from crm.access import selectors as access_selectors
from crm.access.fieldsec import field_level, mask_value, present
from crm.access.models import FieldAccess, User
from crm.core.apiutils import (
    ERRORS,
    ID_MAX,
    INT32_MAX,
    INT32_MIN,
    UNSET,
    Id,
    ListParams,
    PageOut,
    Text,
    cursor_errors,
    enum_schema,
    page_limit,
    page_out,
    paginate_sequence,
)
from crm.core.errors import NotFound, StaleVersion, ValidationFailed
from crm.customers import selectors, services
from crm.customers.models import Contact, Customer, Tag
from crm.customfields.models import CustomFieldDef, CustomFieldType
from crm.customfields.services import (
    ENTITIES_WITH_CUSTOM_FIELDS,
    custom_field_create,
    custom_field_defs,
    custom_field_update,
)
from crm.timeline.models import TimelineEvent
from crm.timeline.services import timeline_kind

router = Router()

CUSTOMERS = ["customers"]
CONTACTS = ["contacts"]
TAGS = ["tags"]
CUSTOM_FIELDS = ["custom fields"]
OWNERSHIP = ["pool and handover"]


# ---------------------------------------------------------------- shared input types

# A custom field value as JSON: its definition's type is checked by the service.
CustomInt = Annotated[int, Field(ge=-ID_MAX, le=ID_MAX)]
CustomValue = bool | CustomInt | float | Text | list[Text] | None
CustomIn = dict[Annotated[Text, Field(max_length=50)], CustomValue]

OWNER_PATTERN = r"^(me|team|[1-9][0-9]{0,17})$"


def _resolve(getter: Callable[[int], Any], field: str, pk: int | None) -> Any:
    """A record chosen by id in the body: missing or invisible is the field's fault (422)."""
    if pk is None:
        return None
    try:
        return getter(pk)
    except NotFound as exc:
        raise ValidationFailed(_("所选记录不存在或您无权查看"), field=field) from exc


def _user_ref(actor: Any, pk: int, field: str) -> User:
    user: User = _resolve(lambda i: access_selectors.user_get(actor=actor, user_id=i), field, pk)
    return user


def _custom_query(request: HttpRequest) -> dict[str, str]:
    """The dynamic `custom.<key>=value` filters, straight from the query string."""
    out: dict[str, str] = {}
    for key in request.GET:
        if not key.startswith("custom."):
            continue
        value = str(request.GET.get(key) or "")
        if len(key) > 60 or len(value) > 100:
            raise ValidationFailed(_("筛选条件过长"), field=key[:60])
        if "\x00" in key or "\x00" in value:
            raise ValidationFailed(_("不能包含空字符（NUL）"), field=key[:60].replace("\x00", ""))
        out[key] = value
    return out


def _person_name(actor: Any, user: User | None) -> str | None:
    if user is None:
        return None
    shown = present(actor, user, ["display_name", "username"])
    return shown.get("display_name") or shown.get("username") or None


# ---------------------------------------------------------------- output shapes


class TagRef(Schema):
    id: int
    name: str | None = None
    full_name: str | None = None
    color: str


class CustomerOut(Schema):
    id: int
    version: int
    # Subject to field-level security: absent when hidden, masked when masked.
    name: str | None = None
    credit_code: str | None = None
    industry: str | None = None
    level: str | None = None
    source: str | None = None
    province: str | None = None
    city: str | None = None
    address: str | None = None
    website: str | None = None
    status: str | None = None
    notes: str | None = None
    owner_id: int | None = None
    owner: str | None = None
    department_id: int | None = None
    department: str | None = None
    in_pool: bool
    pool_reason: str = ""
    pool_entered_at: dt.datetime | None = None
    owned_since: dt.datetime | None = None
    tags: list[TagRef] = []
    custom: dict[str, Any] = {}
    completeness: int
    next_follow_up_at: dt.datetime | None = None
    last_follow_up_at: dt.datetime | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactOut(Schema):
    id: int
    version: int
    customer_id: int
    customer: str | None = None
    name: str | None = None
    title: str | None = None
    mobile: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat: str | None = None
    # A date, or a masked string when the field is masked for the caller.
    birthday: dt.date | str | None = None
    role: str | None = None
    notes: str | None = None
    is_primary: bool
    custom: dict[str, Any] = {}
    created_at: dt.datetime
    updated_at: dt.datetime


class CustomerDetailOut(CustomerOut):
    contacts: list[ContactOut] = []


CUSTOMER_VALUES = list(services.CUSTOMER_FIELDS)


def _tag_ref(actor: Any, tag: Tag) -> dict[str, Any]:
    return {
        "id": tag.pk,
        **present(actor, tag, ["name"]),
        "full_name": tag.full_name,
        "color": tag.color,
    }


def _customer_out(actor: Any, customer: Customer) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": customer.pk,
        "version": customer.version,
        **present(actor, customer, CUSTOMER_VALUES),
        "in_pool": customer.owner_id is None,
        "pool_reason": customer.pool_reason,
        "pool_entered_at": customer.pool_entered_at,
        "owned_since": customer.owned_since,
        "custom": customer.custom or {},
        "completeness": customer.completeness,
        "next_follow_up_at": customer.next_follow_up_at,
        "last_follow_up_at": customer.last_follow_up_at,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    }
    owner_level = field_level(actor, "customer", "owner")
    owner = customer.owner
    if owner_level == FieldAccess.HIDDEN:
        pass
    elif owner_level in (FieldAccess.MASKED, FieldAccess.REVEAL):
        out["owner"] = mask_value(owner.name) if owner else None
    else:
        out["owner_id"] = customer.owner_id
        out["owner"] = _person_name(actor, owner)
        dept = owner.department if owner and owner.department_id else None
        out["department_id"] = dept.pk if dept else None
        out["department"] = dept.name if dept else None
    if hasattr(customer, "tag_list"):
        out["tags"] = [_tag_ref(actor, t) for t in customer.tag_list]
    return out


def _contact_out(actor: Any, contact: Contact) -> dict[str, Any]:
    customer_name = present(actor, contact.customer, ["name"]).get("name")
    return {
        "id": contact.pk,
        "version": contact.version,
        "customer_id": contact.customer_id,
        "customer": customer_name,
        **present(actor, contact),
        "is_primary": contact.is_primary,
        "custom": contact.custom or {},
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def _customer_detail(actor: Any, customer_id: int) -> dict[str, Any]:
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    selectors.customers_attach_tags([customer])
    contacts = selectors.contact_list(
        actor=actor, filters={"customer": customer.pk, "sort": "id"}, limit=200
    )
    return {
        **_customer_out(actor, customer),
        "contacts": [_contact_out(actor, c) for c in contacts.items],
    }


# ---------------------------------------------------------------- customers: list


class CustomerFilters(ListParams):
    """Plus `custom.<key>=value` for each filterable custom field."""

    q: Text | None = Field(None, max_length=100, description="名称、拼音、首字母、电话尾号、邮箱")
    owner: Text | None = Field(
        None, max_length=20, pattern=OWNER_PATTERN, description="me、team 或用户 id"
    )
    department: Id | None = Field(None, description="负责人所在部门（含下级部门）")
    tag: Id | None = Field(None, description="标签（含下级标签）")
    level: Text | None = Field(None, max_length=20)
    province: Text | None = Field(None, max_length=20)
    city: Text | None = Field(None, max_length=30)
    status: Text | None = Field(None, max_length=20)
    industry: Text | None = Field(None, max_length=100)
    source: Text | None = Field(None, max_length=50)
    completeness_min: int | None = Field(None, ge=0, le=100)
    completeness_max: int | None = Field(None, ge=0, le=100)
    due: bool | None = Field(None, description="下次跟进时间在今天或之前")
    sort: Text | None = Field(
        None,
        max_length=30,
        json_schema_extra=enum_schema(list(selectors.CUSTOMER_SORTS)),
        description="排序，默认 -id",
    )


def _customer_page(request: HttpRequest, filters: CustomerFilters, *, pool: bool) -> dict[str, Any]:
    actor = request.user
    values = filters.model_dump(exclude={"cursor", "limit"}, exclude_none=True)
    values.update(_custom_query(request))
    with cursor_errors(filters.cursor):
        page = selectors.customer_list(
            actor=actor,
            filters=values,
            cursor=filters.cursor,
            limit=page_limit(filters.limit),
            pool=pool,
        )
    return page_out(page, lambda c: _customer_out(actor, c))


@router.get(
    "/customers",
    response={200: PageOut[CustomerOut], **ERRORS},
    exclude_unset=True,
    tags=CUSTOMERS,
)
def customer_list(request: HttpRequest, filters: Query[CustomerFilters]) -> dict:
    """Owned customers the caller may see (the pool is GET /pool), keyset-paginated."""
    return _customer_page(request, filters, pool=False)


@router.get(
    "/pool", response={200: PageOut[CustomerOut], **ERRORS}, exclude_unset=True, tags=OWNERSHIP
)
def pool_list(request: HttpRequest, filters: Query[CustomerFilters]) -> dict:
    """Customers in the public pool (公海); claim one with POST /customers/{id}/claim."""
    return _customer_page(request, filters, pool=True)


# ---------------------------------------------------------------- customers: write


class ContactFieldsIn(Schema):
    name: Text = Field("", max_length=100)
    title: Text = Field("", max_length=100)
    mobile: Text = Field("", max_length=100)
    phone: Text = Field("", max_length=100)
    email: Text = Field("", max_length=254)
    wechat: Text = Field("", max_length=100)
    birthday: dt.date | None = None
    role: Text = Field("", max_length=20, description="decision_maker, technical, procurement…")
    notes: Text = Field("", max_length=5000)


class CustomerCreateIn(Schema):
    name: Text = Field(max_length=200)
    credit_code: Text = Field("", max_length=64, description="统一社会信用代码（18 位）")
    industry: Text = Field("", max_length=100)
    level: Text = Field("", max_length=20)
    source: Text = Field("", max_length=50)
    province: Text = Field("", max_length=20)
    city: Text = Field("", max_length=30)
    address: Text = Field("", max_length=300)
    website: Text = Field("", max_length=200)
    status: Text = Field("new", max_length=20)
    notes: Text = Field("", max_length=5000)
    contacts: list[ContactFieldsIn] = Field(default_factory=list, max_length=50)
    tags: list[Id] = Field(default_factory=list, max_length=100, description="标签 id")
    custom: CustomIn = Field(default_factory=dict, max_length=200)
    owner_id: Id | None = Field(None, description="负责人，默认自己")
    allow_duplicate: bool = Field(False, description="管理员确认不是同一家公司时跳过查重")


class CustomerPatchIn(Schema):
    """Only the fields sent are changed; `version` is the one the client loaded."""

    version: int = Field(ge=0, le=INT32_MAX)
    name: Text = Field(UNSET, max_length=200)
    credit_code: Text = Field(UNSET, max_length=64)
    industry: Text = Field(UNSET, max_length=100)
    level: Text = Field(UNSET, max_length=20)
    source: Text = Field(UNSET, max_length=50)
    province: Text = Field(UNSET, max_length=20)
    city: Text = Field(UNSET, max_length=30)
    address: Text = Field(UNSET, max_length=300)
    website: Text = Field(UNSET, max_length=200)
    status: Text = Field(UNSET, max_length=20)
    notes: Text = Field(UNSET, max_length=5000)
    custom: CustomIn = Field(
        UNSET, max_length=200, description="只改动所给的键；某键为 null 时清空该值"
    )


def _contact_rows(contacts: list[ContactFieldsIn]) -> list[dict[str, Any]]:
    """Nested contacts, checked one by one so an error names `contacts.<i>.<field>`."""
    rows = []
    for i, contact in enumerate(contacts):
        row = contact.model_dump()
        if not any(row.values()):
            continue
        try:
            services.contact_clean(row)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field=f"contacts.{i}.{exc.field}") from exc
        rows.append(row)
    return rows


@router.post(
    "/customers",
    response={201: CustomerDetailOut, **ERRORS},
    exclude_unset=True,
    tags=CUSTOMERS,
)
def customer_create(request: HttpRequest, payload: CustomerCreateIn) -> Status:
    """Register (报备) a customer. An existing one with the same credit code, name, phone or
    email (in any department) is a 409 with `existing_id`, its owner and department."""
    actor = request.user
    # Only what was sent: a default must not count as writing a read-only field.
    data = payload.model_dump(
        exclude_unset=True, exclude={"contacts", "tags", "custom", "owner_id", "allow_duplicate"}
    )
    customer = services.customer_create(
        actor=actor,
        data=data,
        contacts=_contact_rows(payload.contacts),
        tags=selectors.tags_by_ids(actor=actor, ids=payload.tags) if payload.tags else None,
        custom=payload.custom,
        owner=_user_ref(actor, payload.owner_id, "owner_id") if payload.owner_id else None,
        allow_duplicate=payload.allow_duplicate,
    )
    return Status(201, _customer_detail(actor, customer.pk))


class BulkTagIn(Schema):
    customer_ids: list[Id] = Field(min_length=1, max_length=1000)
    tag_ids: list[Id] = Field(min_length=1, max_length=100)
    add: bool = Field(True, description="false：移除这些标签")


class BulkTagOut(Schema):
    changed: int


@router.post("/customers/bulk-tag", response={200: BulkTagOut, **ERRORS}, tags=CUSTOMERS)
def customer_bulk_tag(request: HttpRequest, payload: BulkTagIn) -> dict:
    """Tag or untag many customers; all or nothing (one not editable: 404, nothing changes)."""
    actor = request.user
    try:
        tags = selectors.tags_by_ids(actor=actor, ids=payload.tag_ids)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field="tag_ids") from exc
    changed = services.customers_tag(
        actor=actor, customer_ids=payload.customer_ids, tags=tags, add=payload.add
    )
    return {"changed": changed}


@router.get(
    "/customers/{customer_id}",
    response={200: CustomerDetailOut, **ERRORS},
    exclude_unset=True,
    tags=CUSTOMERS,
)
def customer_detail(request: HttpRequest, customer_id: Id) -> dict:
    return _customer_detail(request.user, customer_id)


@router.patch(
    "/customers/{customer_id}",
    response={200: CustomerDetailOut, **ERRORS},
    exclude_unset=True,
    tags=CUSTOMERS,
)
def customer_update(request: HttpRequest, customer_id: Id, payload: CustomerPatchIn) -> dict:
    """A stale `version` is refused with 409 and the record's current values in `current`."""
    actor = request.user
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    custom = changes.pop("custom", None)
    try:
        services.customer_update(
            actor=actor, customer=customer, expected_version=version, data=changes, custom=custom
        )
    except StaleVersion as exc:
        # The service's snapshot is raw column values; send the record as this caller sees it.
        current = _customer_detail(actor, customer_id)
        raise StaleVersion(exc.message, current=current) from exc
    return _customer_detail(actor, customer_id)


@router.delete("/customers/{customer_id}", response={204: None, **ERRORS}, tags=CUSTOMERS)
def customer_delete(request: HttpRequest, customer_id: Id) -> Status:
    """To the recycle bin (restorable), with its contacts out of search."""
    actor = request.user
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    services.customer_delete(actor=actor, customer=customer)
    return Status(204, None)


# ---------------------------------------------------------------- timeline


class TimelineParams(ListParams):
    kinds: list[Annotated[Text, Field(max_length=40)]] = Field(
        default_factory=list, max_length=50, description="只看这些类型（可重复或逗号分隔）"
    )


class TimelineEventOut(Schema):
    id: int
    kind: str
    label: str
    at: dt.datetime
    actor_id: int | None
    actor: str | None
    summary: str
    data: dict[str, Any]
    contact_id: int | None


def _event_out(actor: Any, event: TimelineEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "kind": event.kind,
        "label": str(timeline_kind(event.kind).label),
        "at": event.at,
        "actor_id": event.actor_id,
        "actor": _person_name(actor, event.actor),
        "summary": event.summary,
        "data": selectors.timeline_data_present(actor, event),
        "contact_id": event.contact_id,
    }


@router.get(
    "/customers/{customer_id}/timeline",
    response={200: PageOut[TimelineEventOut], **ERRORS},
    tags=CUSTOMERS,
)
def customer_timeline(request: HttpRequest, customer_id: Id, params: Query[TimelineParams]) -> dict:
    """The customer's activity stream (客户动态), newest first."""
    actor = request.user
    kinds = [k.strip() for value in params.kinds for k in value.split(",") if k.strip()]
    with cursor_errors(params.cursor):
        page = selectors.customer_timeline(
            actor=actor,
            customer_id=customer_id,
            kinds=kinds or None,
            cursor=params.cursor,
            limit=page_limit(params.limit),
        )
    return page_out(page, lambda e: _event_out(actor, e))


# ---------------------------------------------------------------- ownership


@router.post(
    "/customers/{customer_id}/claim",
    response={200: CustomerDetailOut, **ERRORS},
    exclude_unset=True,
    tags=OWNERSHIP,
)
def customer_claim(request: HttpRequest, customer_id: Id) -> dict:
    """Claim a customer from the pool, within the per-rep limit (422 on `owner` when full)."""
    actor = request.user
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    services.customer_claim(actor=actor, customer=customer)
    return _customer_detail(actor, customer_id)


class ReleaseIn(Schema):
    reason: Text = Field(max_length=200)


@router.post(
    "/customers/{customer_id}/release",
    response={200: CustomerDetailOut, **ERRORS},
    exclude_unset=True,
    tags=OWNERSHIP,
)
def customer_release(request: HttpRequest, customer_id: Id, payload: ReleaseIn) -> dict:
    """Return the customer to the pool with a reason (on its timeline)."""
    actor = request.user
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    services.customer_release(actor=actor, customer=customer, reason=payload.reason)
    return _customer_detail(actor, customer_id)


class CollaborationRequestIn(Schema):
    reason: Text = Field("", max_length=300)


class CollaborationRequestOut(Schema):
    id: int
    customer_id: int
    status: str
    reason: str
    created_at: dt.datetime


@router.post(
    "/customers/{customer_id}/collaboration-requests",
    response={201: CollaborationRequestOut, **ERRORS},
    tags=OWNERSHIP,
)
def collaboration_request_create(
    request: HttpRequest, customer_id: Id, payload: CollaborationRequestIn
) -> Status:
    """Ask to join an existing customer (the `existing_id` of a 409 on create) as a
    collaborator; its owner, their managers or an administrator decide."""
    req = services.collaboration_request_create(
        actor=request.user, customer_id=customer_id, reason=payload.reason
    )
    return Status(
        201,
        {
            "id": req.pk,
            "customer_id": req.customer_id,
            "status": req.status,
            "reason": req.reason,
            "created_at": req.created_at,
        },
    )


class HandoverIn(Schema):
    from_user_id: Id
    to_user_ids: list[Id] = Field(min_length=1, max_length=50)
    dry_run: bool = Field(True, description="true：只预览；false：执行")
    reason: Text = Field("", max_length=200)


class HandoverReceiverOut(Schema):
    user_id: int
    user: str | None
    customers: int


class HandoverCustomerOut(Schema):
    id: int
    name: str | None = None
    to_user_id: int


class HandoverOut(Schema):
    dry_run: bool
    batch_id: int | None = None
    from_user_id: int
    customers: int
    contacts: int
    receivers: list[HandoverReceiverOut]
    first: list[HandoverCustomerOut] = Field(description="前 20 位客户及其接收人")


@router.post("/handover", response={200: HandoverOut, 201: HandoverOut, **ERRORS}, tags=OWNERSHIP)
def handover(request: HttpRequest, payload: HandoverIn) -> Status:
    """Move every customer (and so its contacts) of one user to others, round-robin by name.

    With `dry_run` (the default) nothing changes: the answer is the plan. Without it the plan
    is carried out (201) and `batch_id` can be undone. Administrators only.
    """
    actor = request.user
    from_user = _user_ref(actor, payload.from_user_id, "from_user_id")
    to_users = [_user_ref(actor, pk, "to_user_ids") for pk in dict.fromkeys(payload.to_user_ids)]
    plan = services.handover_preview(actor=actor, from_user=from_user, to_users=to_users)
    batch_id = None
    if not payload.dry_run:
        batch = services.handover_execute(
            actor=actor, from_user=from_user, to_users=to_users, reason=payload.reason
        )
        batch_id = batch.pk
    counts = plan.counts
    body = {
        "dry_run": payload.dry_run,
        "batch_id": batch_id,
        "from_user_id": from_user.pk,
        "customers": len(plan.assignments),
        "contacts": plan.contacts,
        "receivers": [
            {"user_id": u.pk, "user": _person_name(actor, u), "customers": counts.get(u.pk, 0)}
            for u in to_users
        ],
        "first": [
            {"id": c.pk, "name": present(actor, c, ["name"]).get("name"), "to_user_id": u.pk}
            for c, u in plan.assignments[:20]
        ],
    }
    return Status(200 if payload.dry_run else 201, body)


class HandoverUndoOut(Schema):
    batch_id: int
    undone_at: dt.datetime | None


@router.post("/handover/{batch_id}/undo", response={200: HandoverUndoOut, **ERRORS}, tags=OWNERSHIP)
def handover_undo(request: HttpRequest, batch_id: Id) -> dict:
    """Give back what the handover moved (records whose owner changed since are left alone)."""
    batch = services.handover_undo(actor=request.user, batch_id=batch_id)
    return {"batch_id": batch.pk, "undone_at": batch.undone_at}


# ---------------------------------------------------------------- contacts


class ContactFilters(ListParams):
    """Plus `custom.<key>=value` for each filterable custom field of contacts."""

    q: Text | None = Field(None, max_length=100, description="姓名、拼音、电话尾号、邮箱")
    customer: Id | None = None
    role: Text | None = Field(None, max_length=20)
    owner: Text | None = Field(
        None,
        max_length=20,
        pattern=r"^(me|[1-9][0-9]{0,17})$",
        description="客户负责人：me 或用户 id",
    )
    department: Id | None = None
    tag: Id | None = None
    sort: Text | None = Field(
        None, max_length=10, json_schema_extra=enum_schema(["-id", "id", "name"])
    )


@router.get(
    "/contacts", response={200: PageOut[ContactOut], **ERRORS}, exclude_unset=True, tags=CONTACTS
)
def contact_list(request: HttpRequest, filters: Query[ContactFilters]) -> dict:
    actor = request.user
    values = filters.model_dump(exclude={"cursor", "limit"}, exclude_none=True)
    values.update(_custom_query(request))
    with cursor_errors(filters.cursor):
        page = selectors.contact_list(
            actor=actor, filters=values, cursor=filters.cursor, limit=page_limit(filters.limit)
        )
    return page_out(page, lambda c: _contact_out(actor, c))


class ContactCreateIn(ContactFieldsIn):
    customer_id: Id
    name: Text = Field(max_length=100)
    custom: CustomIn = Field(default_factory=dict, max_length=200)


class ContactPatchIn(Schema):
    version: int = Field(ge=0, le=INT32_MAX)
    name: Text = Field(UNSET, max_length=100)
    title: Text = Field(UNSET, max_length=100)
    mobile: Text = Field(UNSET, max_length=100)
    phone: Text = Field(UNSET, max_length=100)
    email: Text = Field(UNSET, max_length=254)
    wechat: Text = Field(UNSET, max_length=100)
    birthday: dt.date | None = None
    role: Text = Field(UNSET, max_length=20)
    notes: Text = Field(UNSET, max_length=5000)
    custom: CustomIn = Field(UNSET, max_length=200)


@router.post("/contacts", response={201: ContactOut, **ERRORS}, exclude_unset=True, tags=CONTACTS)
def contact_create(request: HttpRequest, payload: ContactCreateIn) -> Status:
    actor = request.user
    customer = _resolve(
        lambda i: selectors.customer_get(actor=actor, customer_id=i),
        "customer_id",
        payload.customer_id,
    )
    contact = services.contact_create(
        actor=actor,
        customer=customer,
        data=payload.model_dump(exclude={"customer_id", "custom"}),
        custom=payload.custom,
    )
    return Status(
        201, _contact_out(actor, selectors.contact_get(actor=actor, contact_id=contact.pk))
    )


@router.get(
    "/contacts/{contact_id}",
    response={200: ContactOut, **ERRORS},
    exclude_unset=True,
    tags=CONTACTS,
)
def contact_detail(request: HttpRequest, contact_id: Id) -> dict:
    actor = request.user
    return _contact_out(actor, selectors.contact_get(actor=actor, contact_id=contact_id))


@router.patch(
    "/contacts/{contact_id}",
    response={200: ContactOut, **ERRORS},
    exclude_unset=True,
    tags=CONTACTS,
)
def contact_update(request: HttpRequest, contact_id: Id, payload: ContactPatchIn) -> dict:
    """A stale `version` is refused with 409 and the record's current values in `current`."""
    actor = request.user
    contact = selectors.contact_get(actor=actor, contact_id=contact_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    custom = changes.pop("custom", None)
    try:
        services.contact_update(
            actor=actor, contact=contact, expected_version=version, data=changes, custom=custom
        )
    except StaleVersion as exc:
        fresh = selectors.contact_get(actor=actor, contact_id=contact_id)
        raise StaleVersion(exc.message, current=_contact_out(actor, fresh)) from exc
    return _contact_out(actor, selectors.contact_get(actor=actor, contact_id=contact_id))


@router.delete("/contacts/{contact_id}", response={204: None, **ERRORS}, tags=CONTACTS)
def contact_delete(request: HttpRequest, contact_id: Id) -> Status:
    """To the recycle bin."""
    actor = request.user
    contact = selectors.contact_get(actor=actor, contact_id=contact_id)
    services.contact_delete(actor=actor, contact=contact)
    return Status(204, None)


# ---------------------------------------------------------------- tags


class TagOut(Schema):
    id: int
    name: str | None = None
    full_name: str
    parent_id: int | None
    path: str
    depth: int
    color: str


def _tag_out(actor: Any, tag: Tag) -> dict[str, Any]:
    return {
        "id": tag.pk,
        **present(actor, tag, ["name"]),
        "full_name": tag.full_name,
        "parent_id": tag.parent_id,
        "path": tag.path,
        "depth": max(tag.path.count("/") - 2, 0),
        "color": tag.color,
    }


def _tag_key(tag: Tag) -> str:
    # Tree order: a parent right before its children ("\x01" sorts before any name character).
    return "\x01".join(tag.full_name.split("/")) + f"\x00{tag.pk:020d}"


@router.get("/tags", response={200: PageOut[TagOut], **ERRORS}, exclude_unset=True, tags=TAGS)
def tag_list(request: HttpRequest, params: Query[ListParams]) -> dict:
    """All tags in tree order (a parent before its children)."""
    actor = request.user
    page = paginate_sequence(
        selectors.tag_list(actor=actor), key=_tag_key, cursor=params.cursor, limit=params.limit
    )
    return page_out(page, lambda t: _tag_out(actor, t))


class TagCreateIn(Schema):
    name: Text = Field(max_length=200, description="可用 行业/制造业/汽车零部件 一次建多级")
    parent_id: Id | None = None
    color: Text = Field("blue", max_length=20)


class TagPatchIn(Schema):
    name: Text = Field(UNSET, max_length=50)
    parent_id: Id | None = Field(None, description="null：移到最上级")
    color: Text = Field(UNSET, max_length=20)


def _tag_ref_get(actor: Any, pk: int | None) -> Tag | None:
    return _resolve(lambda i: selectors.tag_get(actor=actor, tag_id=i), "parent_id", pk)


@router.post("/tags", response={201: TagOut, **ERRORS}, exclude_unset=True, tags=TAGS)
def tag_create(request: HttpRequest, payload: TagCreateIn) -> Status:
    actor = request.user
    tag = services.tag_create(
        actor=actor,
        name=payload.name,
        parent=_tag_ref_get(actor, payload.parent_id),
        color=payload.color,
    )
    return Status(201, _tag_out(actor, tag))


@router.get("/tags/{tag_id}", response={200: TagOut, **ERRORS}, exclude_unset=True, tags=TAGS)
def tag_detail(request: HttpRequest, tag_id: Id) -> dict:
    actor = request.user
    return _tag_out(actor, selectors.tag_get(actor=actor, tag_id=tag_id))


@router.patch("/tags/{tag_id}", response={200: TagOut, **ERRORS}, exclude_unset=True, tags=TAGS)
def tag_update(request: HttpRequest, tag_id: Id, payload: TagPatchIn) -> dict:
    """Rename, recolour or move (`parent_id`) a tag; its children move with it."""
    actor = request.user
    tag = selectors.tag_get(actor=actor, tag_id=tag_id)
    changes = payload.model_dump(exclude_unset=True)
    parent: Any = ...
    if "parent_id" in changes:
        parent = _tag_ref_get(actor, changes["parent_id"])
    tag = services.tag_update(
        actor=actor, tag=tag, name=changes.get("name"), parent=parent, color=changes.get("color")
    )
    return _tag_out(actor, tag)


@router.delete("/tags/{tag_id}", response={204: None, **ERRORS}, tags=TAGS)
def tag_delete(request: HttpRequest, tag_id: Id) -> Status:
    """Untags its customers (never deletes them); refused (422) while it has children."""
    actor = request.user
    services.tag_delete(actor=actor, tag=selectors.tag_get(actor=actor, tag_id=tag_id))
    return Status(204, None)


# ---------------------------------------------------------------- custom fields


class CustomFieldOut(Schema):
    id: int
    version: int
    entity: str
    key: str
    label: str
    type: str
    choices: list[str]
    help_text: str
    required_from: str
    filterable: bool
    order: int
    is_active: bool


def _custom_field_out(field: CustomFieldDef) -> dict[str, Any]:
    return {
        "id": field.pk,
        "version": field.version,
        "entity": field.entity,
        "key": field.key,
        "label": field.label,
        "type": field.type,
        "choices": [str(c) for c in field.choices or []],
        "help_text": field.help_text,
        "required_from": field.required_from,
        "filterable": field.filterable,
        "order": field.order,
        "is_active": field.is_active,
    }


def _custom_field_key(field: CustomFieldDef) -> str:
    return f"{field.entity}\x00{field.order - INT32_MIN:010d}\x00{field.pk:020d}"


def _custom_fields(entity: str | None, *, active_only: bool) -> list[CustomFieldDef]:
    if entity is not None and entity not in ENTITIES_WITH_CUSTOM_FIELDS:
        raise ValidationFailed(_("该对象不支持自定义字段"), field="entity")
    entities = [entity] if entity else list(ENTITIES_WITH_CUSTOM_FIELDS)
    return [f for e in entities for f in custom_field_defs(e, active_only=active_only)]


def _custom_field_get(field_id: int) -> CustomFieldDef:
    for field in _custom_fields(None, active_only=False):
        if field.pk == field_id:
            return field
    raise NotFound()


class CustomFieldFilters(ListParams):
    entity: Text | None = Field(None, max_length=50, description="对象，如 customer、contact")
    include_inactive: bool = Field(False, description="包括已停用的字段")


@router.get("/custom-fields", response={200: PageOut[CustomFieldOut], **ERRORS}, tags=CUSTOM_FIELDS)
def custom_field_list(request: HttpRequest, filters: Query[CustomFieldFilters]) -> dict:
    """Custom field definitions (everyone may read them: forms and filters need them)."""
    fields = _custom_fields(filters.entity, active_only=not filters.include_inactive)
    page = paginate_sequence(
        fields, key=_custom_field_key, cursor=filters.cursor, limit=filters.limit
    )
    return page_out(page, _custom_field_out)


class CustomFieldCreateIn(Schema):
    entity: Text = Field(max_length=50)
    key: Text = Field(max_length=50, description="小写字母开头，只含小写字母、数字和下划线")
    label: Text = Field(max_length=100)
    type: Text = Field(max_length=20, json_schema_extra=enum_schema(CustomFieldType.values))
    choices: list[Annotated[Text, Field(max_length=100)]] = Field(
        default_factory=list, max_length=200
    )
    help_text: Text = Field("", max_length=200)
    required_from: Text = Field("", max_length=50, description="从该状态起必填")
    filterable: bool = True
    order: int = Field(0, ge=INT32_MIN, le=INT32_MAX)
    is_active: bool = True


class CustomFieldPatchIn(Schema):
    version: int = Field(ge=0, le=INT32_MAX)
    label: Text = Field(UNSET, max_length=100)
    type: Text = Field(UNSET, max_length=20)
    choices: list[Annotated[Text, Field(max_length=100)]] = Field(UNSET, max_length=200)
    help_text: Text = Field(UNSET, max_length=200)
    required_from: Text = Field(UNSET, max_length=50)
    filterable: bool = Field(UNSET)
    order: int = Field(UNSET, ge=INT32_MIN, le=INT32_MAX)
    is_active: bool = Field(UNSET)


@router.post("/custom-fields", response={201: CustomFieldOut, **ERRORS}, tags=CUSTOM_FIELDS)
def custom_field_create_endpoint(request: HttpRequest, payload: CustomFieldCreateIn) -> Status:
    """Administrators only (403 otherwise)."""
    data = payload.model_dump(exclude={"entity", "key"})
    field = custom_field_create(actor=request.user, entity=payload.entity, key=payload.key, **data)
    return Status(201, _custom_field_out(field))


@router.get(
    "/custom-fields/{field_id}", response={200: CustomFieldOut, **ERRORS}, tags=CUSTOM_FIELDS
)
def custom_field_detail(request: HttpRequest, field_id: Id) -> dict:
    return _custom_field_out(_custom_field_get(field_id))


@router.patch(
    "/custom-fields/{field_id}", response={200: CustomFieldOut, **ERRORS}, tags=CUSTOM_FIELDS
)
def custom_field_update_endpoint(
    request: HttpRequest, field_id: Id, payload: CustomFieldPatchIn
) -> dict:
    """Administrators only. The type of a field that holds values cannot change."""
    field = _custom_field_get(field_id)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    try:
        field = custom_field_update(
            actor=request.user, field=field, expected_version=version, **changes
        )
    except StaleVersion as exc:
        raise StaleVersion(
            exc.message, current=_custom_field_out(_custom_field_get(field_id))
        ) from exc
    return _custom_field_out(field)
