"""Every read of customers and contacts, starting from the permission layer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from crm.access.fieldsec import field_state, present
from crm.access.registry import entity_get
from crm.access.visibility import can, is_admin, report_ids, visible, visible_get
from crm.core.errors import ValidationFailed
from crm.core.pagination import Page, paginate
from crm.customers.models import (
    CollaborationRequest,
    Contact,
    Customer,
    CustomerCollaborator,
    HandoverBatch,
    RequestStatus,
    SavedView,
    Tag,
)
from crm.customfields.models import CustomFieldType
from crm.customfields.services import custom_field_defs
from crm.timeline.models import TimelineEvent

CUSTOMER_SORTS: dict[str, tuple[str, ...]] = {
    "-id": ("-id",),
    "id": ("id",),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "-updated_at": ("-updated_at", "-id"),
    "-completeness": ("-completeness", "-id"),
    "completeness": ("completeness", "id"),
    "next_follow_up_at": ("next_follow_up_at", "id"),
    "-last_follow_up_at": ("-last_follow_up_at", "-id"),
}
NULLABLE_SORT = {"next_follow_up_at", "last_follow_up_at"}


def _int(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{field}: not a number", field=field) from exc


def _custom_filters(qs: QuerySet, entity: str, filters: Any) -> QuerySet:
    defs = {d.key: d for d in custom_field_defs(entity) if d.filterable}
    for raw_key in list(filters.keys()):
        if not raw_key.startswith("custom."):
            continue
        key = raw_key[7:]
        value = filters.get(raw_key)
        if key not in defs or value in (None, ""):
            continue
        d = defs[key]
        if d.type == CustomFieldType.MULTICHOICE:
            qs = qs.filter(**{f"custom__{key}__contains": [value]}) if _json_contains_ok() else qs.filter(**{f"custom__{key}__icontains": value})
        elif d.type == CustomFieldType.BOOLEAN:
            qs = qs.filter(**{f"custom__{key}": str(value).lower() in ("1", "true", "yes", "是")})
        elif d.type in (CustomFieldType.NUMBER, CustomFieldType.USER):
            try:
                qs = qs.filter(**{f"custom__{key}": float(value) if d.type == CustomFieldType.NUMBER else int(value)})
            except (TypeError, ValueError) as exc:
                raise ValidationFailed("not a number", field=raw_key) from exc
        elif d.type in (CustomFieldType.TEXT, CustomFieldType.LONGTEXT):
            qs = qs.filter(**{f"custom__{key}__icontains": str(value)[:100]})
        else:
            qs = qs.filter(**{f"custom__{key}": str(value)[:100]})
    return qs


def _json_contains_ok() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def customer_filter(actor: Any, filters: Any, *, pool: bool = False) -> QuerySet[Customer]:
    """The filtered, visible customers (no ordering): shared by the list, the API and exports."""
    qs = visible(actor, Customer)
    qs = qs.filter(owner__isnull=True) if pool else qs.filter(owner__isnull=False)
    get = filters.get
    q = (get("q") or "").strip()
    if q:
        from crm.search.selectors import _candidate_ids

        ids = [row[1] for row in _candidate_ids(q, ["customer"])]
        contact_ids = [row[1] for row in _candidate_ids(q, ["contact"])]
        qs = qs.filter(
            Q(pk__in=ids) | Q(pk__in=Contact.objects.filter(pk__in=contact_ids).values("customer_id"))
        )
    owner = get("owner")
    if owner == "me":
        qs = qs.filter(owner_id=actor.pk)
    elif owner == "team":
        qs = qs.filter(owner_id__in=[actor.pk, *report_ids(actor)])
    elif owner:
        qs = qs.filter(owner_id=_int(owner, "owner"))
    department = _int(get("department"), "department")
    if department:
        from crm.access.models import Department

        dept = Department.objects.filter(pk=department).first()
        qs = qs.filter(owner__department__path__startswith=dept.path) if dept else qs.none()
    tag = _int(get("tag"), "tag")
    if tag:
        t = Tag.objects.filter(pk=tag).first()
        if t is None:
            qs = qs.none()
        else:
            qs = qs.filter(pk__in=Customer.tags.through.objects.filter(tag__path__startswith=t.path).values("customer_id"))
    for key in ("level", "province", "city", "status", "industry", "source"):
        value = get(key)
        if value:
            qs = qs.filter(**{key: str(value)[:100]})
    cmin = _int(get("completeness_min"), "completeness_min")
    if cmin is not None:
        qs = qs.filter(completeness__gte=cmin)
    cmax = _int(get("completeness_max"), "completeness_max")
    if cmax is not None:
        qs = qs.filter(completeness__lte=cmax)
    if get("due"):
        end_of_today = timezone.localtime().replace(hour=23, minute=59, second=59)
        qs = qs.filter(next_follow_up_at__lte=end_of_today)
    return _custom_filters(qs, "customer", filters)


def customer_list(
    *, actor: Any, filters: Any, cursor: str | None = None, limit: int = 50, pool: bool = False
) -> Page:
    sort = filters.get("sort") or "-id"
    if sort not in CUSTOMER_SORTS:
        raise ValidationFailed("unknown sort", field="sort")
    ordering = CUSTOMER_SORTS[sort]
    qs = customer_filter(actor, filters, pool=pool)
    first = ordering[0].lstrip("-")
    if first in NULLABLE_SORT:
        qs = qs.filter(**{f"{first}__isnull": False})
    qs = qs.select_related("owner", "owner__department")
    page = paginate(qs, ordering=ordering, cursor=cursor, limit=limit)
    _attach_tags(page.items)
    return page


def _attach_tags(customers: list[Customer]) -> None:
    ids = [c.pk for c in customers]
    tags: dict[int, list[Tag]] = {i: [] for i in ids}
    for link in Customer.tags.through.objects.filter(customer_id__in=ids).select_related("tag"):
        tags[link.customer_id].append(link.tag)
    for c in customers:
        c.tag_list = tags.get(c.pk, [])  # type: ignore[attr-defined]


def customer_get(*, actor: Any, customer_id: Any) -> Customer:
    return visible_get(actor, Customer.objects.select_related("owner", "owner__department"), customer_id)


def contact_get(*, actor: Any, contact_id: Any) -> Contact:
    return visible_get(actor, Contact.objects.select_related("customer", "customer__owner"), contact_id)


def contact_filter(actor: Any, filters: Any) -> QuerySet[Contact]:
    qs = visible(actor, Contact)
    get = filters.get
    q = (get("q") or "").strip()
    if q:
        from crm.search.selectors import _candidate_ids

        qs = qs.filter(pk__in=[row[1] for row in _candidate_ids(q, ["contact"])])
    customer = _int(get("customer"), "customer")
    if customer:
        qs = qs.filter(customer_id=customer)
    if get("role"):
        qs = qs.filter(role=str(get("role"))[:20])
    owner = get("owner")
    if owner == "me":
        qs = qs.filter(customer__owner_id=actor.pk)
    elif owner:
        qs = qs.filter(customer__owner_id=_int(owner, "owner"))
    department = _int(get("department"), "department")
    if department:
        from crm.access.models import Department

        dept = Department.objects.filter(pk=department).first()
        qs = qs.filter(customer__owner__department__path__startswith=dept.path) if dept else qs.none()
    tag = _int(get("tag"), "tag")
    if tag:
        t = Tag.objects.filter(pk=tag).first()
        qs = qs.filter(customer_id__in=Customer.tags.through.objects.filter(tag__path__startswith=t.path).values("customer_id")) if t else qs.none()
    return _custom_filters(qs, "contact", filters)


def contact_list(*, actor: Any, filters: Any, cursor: str | None = None, limit: int = 50) -> Page:
    sort = filters.get("sort") or "-id"
    orderings = {"-id": ("-id",), "name": ("name", "id"), "id": ("id",)}
    if sort not in orderings:
        raise ValidationFailed("unknown sort", field="sort")
    qs = contact_filter(actor, filters).select_related("customer", "customer__owner")
    return paginate(qs, ordering=orderings[sort], cursor=cursor, limit=limit)


def customer_timeline(
    *, actor: Any, customer_id: Any, kinds: list[str] | None = None, cursor: str | None = None, limit: int = 30
) -> Page:
    customer = customer_get(actor=actor, customer_id=customer_id)
    qs = TimelineEvent.objects.filter(customer_id=customer.pk).select_related("actor", "contact")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return paginate(qs, ordering=("-at", "-id"), cursor=cursor, limit=limit)


@dataclass
class Customer360:
    customer: Customer
    values: dict[str, Any]
    states: dict[str, dict[str, bool]]
    contacts: list[dict[str, Any]]
    tags: list[Tag]
    collaborators: list[Any]
    timeline: Page
    custom_fields: list[Any]
    can_edit: bool
    can_delete: bool
    can_release: bool
    can_claim: bool
    pending_requests: list[CollaborationRequest]


def contact_present(actor: Any, contact: Contact) -> dict[str, Any]:
    values = present(actor, contact)
    values["id"] = contact.pk
    values["version"] = contact.version
    values["is_primary"] = contact.is_primary
    values["customer_id"] = contact.customer_id
    values["mobile_state"] = field_state(actor, entity_get("contact"), "mobile")
    values["obj"] = contact
    return values


def customer_360(*, actor: Any, customer_id: Any, kinds: list[str] | None = None) -> Customer360:
    customer = customer_get(actor=actor, customer_id=customer_id)
    entity = entity_get("customer")
    contacts = [
        contact_present(actor, c)
        for c in visible(actor, Contact).filter(customer_id=customer.pk).order_by("-is_primary", "id")[:200]
    ]
    tags = list(Tag.objects.filter(customertag__customer_id=customer.pk).order_by("full_name"))
    collaborators = [c.user for c in CustomerCollaborator.objects.filter(customer=customer).select_related("user")]
    can_edit = can(actor, "edit", customer)
    pending: list[CollaborationRequest] = []
    if can_edit or is_admin(actor):
        pending = list(
            CollaborationRequest.objects.filter(customer=customer, status=RequestStatus.PENDING).select_related("requester")
        )
    return Customer360(
        customer=customer,
        values=present(actor, customer),
        states={f.name: field_state(actor, entity, f.name) for f in entity.fields},
        contacts=contacts,
        tags=tags,
        collaborators=collaborators,
        timeline=customer_timeline(actor=actor, customer_id=customer.pk, kinds=kinds),
        custom_fields=[(d, (customer.custom or {}).get(d.key)) for d in custom_field_defs("customer")],
        can_edit=can_edit,
        can_delete=can(actor, "delete", customer),
        can_release=can_edit and customer.owner_id is not None,
        can_claim=customer.owner_id is None and can(actor, "edit", Customer),
        pending_requests=pending,
    )


def tag_list(*, actor: Any) -> list[Tag]:
    """All tags in tree order (full_name sorts parents before children)."""
    if not can(actor, "view", "tag"):
        return []
    tags = list(visible(actor, Tag).order_by("full_name"))
    for t in tags:
        t.depth = t.path.count("/") - 2  # type: ignore[attr-defined]
    return tags


def tag_get(*, actor: Any, tag_id: Any) -> Tag:
    return visible_get(actor, Tag, tag_id)


def tags_by_ids(*, actor: Any, ids: list[Any]) -> list[Tag]:
    clean = []
    for i in ids:
        try:
            clean.append(int(i))
        except (TypeError, ValueError) as exc:
            raise ValidationFailed("bad tag id", field="tags") from exc
    tags = list(visible(actor, Tag).filter(pk__in=clean))
    if len(tags) != len(set(clean)):
        raise ValidationFailed("unknown tag", field="tags")
    return tags


def saved_views(*, actor: Any, entity: str) -> list[SavedView]:
    return list(SavedView.objects.filter(user=actor, entity=entity).order_by("name"))


def collaboration_requests_pending(*, actor: Any) -> list[CollaborationRequest]:
    """Requests the actor may decide: on their own customers, their team's, or all for admins."""
    qs = CollaborationRequest.objects.filter(status=RequestStatus.PENDING).select_related("customer", "requester")
    if not is_admin(actor):
        qs = qs.filter(customer__owner_id__in=[actor.pk, *report_ids(actor)])
    return list(qs[:200])


def handover_batches(*, actor: Any) -> list[HandoverBatch]:
    if not is_admin(actor):
        return []
    return list(HandoverBatch.objects.select_related("from_user", "actor")[:50])


def handover_batch_get(*, actor: Any, batch_id: Any) -> HandoverBatch:
    from crm.core.errors import NotFound

    if not is_admin(actor):
        raise NotFound()
    batch = HandoverBatch.objects.filter(pk=batch_id).select_related("from_user").first()
    if batch is None:
        raise NotFound()
    return batch


def customer_home_stats(*, actor: Any) -> dict[str, int]:
    end_of_today = timezone.localtime().replace(hour=23, minute=59, second=59)
    mine = Customer.objects.filter(owner_id=actor.pk)
    return {
        "mine": mine.count(),
        "due": mine.filter(next_follow_up_at__lte=end_of_today).count(),
        "pool": visible(actor, Customer).filter(owner__isnull=True).count(),
    }


def custom_fields_for(entity: str) -> list[Any]:
    return custom_field_defs(entity)


def now() -> dt.datetime:
    return timezone.now()
