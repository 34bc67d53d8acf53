"""Every read of customers and contacts, starting from the permission layer."""

from __future__ import annotations

import datetime as dt
import json
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
    CustomerTag,
    HandoverBatch,
    RequestStatus,
    SavedView,
    Tag,
)
from crm.customfields.models import CustomFieldType
from crm.customfields.services import custom_field_defs, custom_value_clean
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
            value = str(value)[:100]
            if _json_contains_ok():
                qs = qs.filter(**{f"custom__{key}__contains": [value]})
            else:
                # SQLite has no JSON containment: match the element's JSON text with its
                # quotes, so 线上 does not match 线上线下. Django stores JSON ASCII-escaped
                # (\u7ebf…); the unescaped form covers rows written by other tools.
                lookup = f"custom__{key}__icontains"
                qs = qs.filter(
                    Q(**{lookup: json.dumps(value)})
                    | Q(**{lookup: json.dumps(value, ensure_ascii=False)})
                )
        elif d.type in (CustomFieldType.MONEY, CustomFieldType.DATE):
            # Compare with the stored form: 5,000,000 → "5000000.00"; a date as ISO text.
            qs = qs.filter(**{f"custom__{key}": custom_value_clean(d, value)})
        elif d.type == CustomFieldType.BOOLEAN:
            qs = qs.filter(**{f"custom__{key}": str(value).lower() in ("1", "true", "yes", "是")})
        elif d.type in (CustomFieldType.NUMBER, CustomFieldType.USER):
            try:
                qs = qs.filter(
                    **{
                        f"custom__{key}": float(value)
                        if d.type == CustomFieldType.NUMBER
                        else int(value)
                    }
                )
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
    if pool:
        qs = visible(actor, Customer).filter(owner__isnull=True)
    else:
        qs = customers_visible_owned(actor)
    get = filters.get
    q = (get("q") or "").strip()
    if q:
        from crm.search.selectors import _candidate_ids, digit_query, phones_masked

        ids = [row[1] for row in _candidate_ids(q, ["customer"])]
        # Digits must not confirm a contact's masked phone (as in the global search).
        blind = phones_masked(actor, "contact", digit_query(q))
        contact_ids = [] if blind else [row[1] for row in _candidate_ids(q, ["contact"])]
        qs = qs.filter(
            Q(pk__in=ids)
            | Q(pk__in=Contact.objects.filter(pk__in=contact_ids).values("customer_id"))
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
            qs = qs.filter(
                pk__in=CustomerTag.objects.filter(tag__path__startswith=t.path).values(
                    "customer_id"
                )
            )
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


def customers_visible_owned(actor: Any) -> QuerySet[Customer]:
    """The rows of `visible(actor, Customer).filter(owner__isnull=False)` (the customer list;
    the pool has its own page), in a shape SQLite can serve from its indexes.

    A rep sees his customers OR those he collaborates on OR the pool: no single index serves
    that OR, and under ORDER BY id DESC LIMIT 51 SQLite walks the whole table in id order
    (about 0.5 s at a million customers) to find a rep's few hundred. For an actor who sees
    only his own customers, the list is therefore `id IN (branch 1 UNION ALL branch 2 …)`
    over the branches of visible()'s own predicate (crm.access.visibility.visible_branches),
    each branch served by its own index. The pool branch `owner IS NULL` is left out: it
    contradicts `owner IS NOT NULL`. Same rows, by construction: (A ∨ B ∨ N) ∧ ¬N ≡
    (A ∨ B) ∧ ¬N (tested in crm/customers/tests/test_query_counts.py).

    Managers (a department, a subtree, reports) and scope "all" keep the plain filter: they
    see a large share of all customers, so the walk in id order stops after a few rows,
    while a UNION would collect hundreds of thousands of ids first.
    """
    from crm.access.models import Scope
    from crm.access.visibility import grant_for, visible_branches

    qs = visible(actor, Customer).filter(owner__isnull=False)
    if is_admin(actor) or grant_for(actor, "customer").scope_for("view") != Scope.OWN:
        return qs
    if report_ids(actor):
        return qs
    branches = visible_branches(actor, Customer)
    if not branches:  # None (every row) or [] (none): the plain queryset says it as well
        return qs
    kept = [b for b in branches if not _is_pool_branch(b)]
    if not kept:
        return Customer.objects.none()
    # all_objects: the outer query applies the default manager's filter (not deleted) once.
    parts = [Customer.all_objects.filter(b).order_by().values("pk") for b in kept]
    ids = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return Customer.objects.filter(owner__isnull=False, pk__in=ids)


def _is_pool_branch(q: Q) -> bool:
    """The branch is exactly `owner IS NULL` (the pool)."""
    return (
        not q.negated
        and len(q.children) == 1
        and q.children[0] in (("owner__isnull", True), ("owner_id__isnull", True))
    )


def customer_list_queryset(
    *, actor: Any, filters: Any, pool: bool = False
) -> tuple[QuerySet[Customer], tuple[str, ...]]:
    """The list's rows and their ordering: the page paginates them, an export walks them all."""
    sort = filters.get("sort") or "-id"
    if sort not in CUSTOMER_SORTS:
        raise ValidationFailed("unknown sort", field="sort")
    ordering = CUSTOMER_SORTS[sort]
    qs = customer_filter(actor, filters, pool=pool)
    first = ordering[0].lstrip("-")
    if first in NULLABLE_SORT:
        qs = qs.filter(**{f"{first}__isnull": False})
    return qs.select_related("owner", "owner__department"), ordering


def customer_list(
    *, actor: Any, filters: Any, cursor: str | None = None, limit: int = 50, pool: bool = False
) -> Page:
    qs, ordering = customer_list_queryset(actor=actor, filters=filters, pool=pool)
    page = paginate(qs, ordering=ordering, cursor=cursor, limit=limit)
    _attach_tags(page.items)
    return page


def _attach_tags(customers: list[Customer]) -> None:
    ids = [c.pk for c in customers]
    tags: dict[int, list[Tag]] = {i: [] for i in ids}
    for link in CustomerTag.objects.filter(customer_id__in=ids).select_related("tag"):
        tags[link.customer_id].append(link.tag)
    for c in customers:
        c.tag_list = tags.get(c.pk, [])  # type: ignore[attr-defined]


def customer_get(*, actor: Any, customer_id: Any) -> Customer:
    return visible_get(
        actor, Customer.objects.select_related("owner", "owner__department"), customer_id
    )


def contact_get(*, actor: Any, contact_id: Any) -> Contact:
    return visible_get(
        actor, Contact.objects.select_related("customer", "customer__owner"), contact_id
    )


def contact_filter(actor: Any, filters: Any) -> QuerySet[Contact]:
    qs = visible(actor, Contact)
    get = filters.get
    q = (get("q") or "").strip()
    if q:
        from crm.search.selectors import _candidate_ids, digit_query, phones_masked

        if phones_masked(actor, "contact", digit_query(q)):
            qs = qs.none()  # digits must not confirm a masked phone
        else:
            qs = qs.filter(pk__in=[row[1] for row in _candidate_ids(q, ["contact"])])
    customer = _int(get("customer"), "customer")
    if customer:
        qs = qs.filter(customer_id=customer)
    if get("role"):
        qs = qs.filter(role=str(get("role"))[:20])
    owner = get("owner")
    if owner == "me":
        qs = qs.filter(customer__owner_id=actor.pk)
    elif owner == "team":
        qs = qs.filter(customer__owner_id__in=[actor.pk, *report_ids(actor)])
    elif owner:
        qs = qs.filter(customer__owner_id=_int(owner, "owner"))
    department = _int(get("department"), "department")
    if department:
        from crm.access.models import Department

        dept = Department.objects.filter(pk=department).first()
        qs = (
            qs.filter(customer__owner__department__path__startswith=dept.path)
            if dept
            else qs.none()
        )
    tag = _int(get("tag"), "tag")
    if tag:
        t = Tag.objects.filter(pk=tag).first()
        qs = (
            qs.filter(
                customer_id__in=CustomerTag.objects.filter(tag__path__startswith=t.path).values(
                    "customer_id"
                )
            )
            if t
            else qs.none()
        )
    return _custom_filters(qs, "contact", filters)


CONTACT_SORTS: dict[str, tuple[str, ...]] = {"-id": ("-id",), "name": ("name", "id"), "id": ("id",)}


def contact_list_queryset(*, actor: Any, filters: Any) -> tuple[QuerySet[Contact], tuple[str, ...]]:
    """The contact list's rows and their ordering (the page and the export)."""
    sort = filters.get("sort") or "-id"
    if sort not in CONTACT_SORTS:
        raise ValidationFailed("unknown sort", field="sort")
    qs = contact_filter(actor, filters).select_related("customer", "customer__owner")
    return qs, CONTACT_SORTS[sort]


def contact_list(*, actor: Any, filters: Any, cursor: str | None = None, limit: int = 50) -> Page:
    qs, ordering = contact_list_queryset(actor=actor, filters=filters)
    return paginate(qs, ordering=ordering, cursor=cursor, limit=limit)


def customer_timeline(
    *,
    actor: Any,
    customer_id: Any,
    kinds: list[str] | None = None,
    cursor: str | None = None,
    limit: int = 30,
) -> Page:
    customer = customer_get(actor=actor, customer_id=customer_id)
    return _timeline_page(customer, kinds=kinds, cursor=cursor, limit=limit)


def _timeline_page(
    customer: Customer, *, kinds: list[str] | None, cursor: str | None = None, limit: int = 30
) -> Page:
    """The timeline of a customer the caller has already checked is visible."""
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
        for c in visible(actor, Contact)
        .filter(customer_id=customer.pk)
        .order_by("-is_primary", "id")[:200]
    ]
    tags = list(Tag.objects.filter(customertag__customer_id=customer.pk).order_by("full_name"))
    collaborators = [
        c.user
        for c in CustomerCollaborator.objects.filter(customer=customer).select_related("user")
    ]
    can_edit = can(actor, "edit", customer)
    pending: list[CollaborationRequest] = []
    if can_edit or is_admin(actor):
        pending = list(
            CollaborationRequest.objects.filter(
                customer=customer, status=RequestStatus.PENDING
            ).select_related("requester")
        )
    return Customer360(
        customer=customer,
        values=present(actor, customer),
        states={f.name: field_state(actor, entity, f.name) for f in entity.fields},
        contacts=contacts,
        tags=tags,
        collaborators=collaborators,
        timeline=_timeline_page(customer, kinds=kinds),  # visible: customer_get checked
        custom_fields=[
            (d, (customer.custom or {}).get(d.key)) for d in custom_field_defs("customer")
        ],
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
    qs = CollaborationRequest.objects.filter(status=RequestStatus.PENDING).select_related(
        "customer", "requester"
    )
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
        # Count ids: visible() may add DISTINCT, which over whole rows reads every row.
        "pool": visible(actor, Customer).filter(owner__isnull=True).values("pk").count(),
    }


def custom_fields_for(entity: str) -> list[Any]:
    return custom_field_defs(entity)


def now() -> dt.datetime:
    return timezone.now()


# ----------------------------------------------------------------- management pages
# (pool, tags, custom fields, settings, handover, collaboration inbox)


def pool_summary(*, actor: Any) -> dict[str, Any]:
    """The pool rules as the pool page states them, and how many customers the actor owns."""
    from crm.customers import config

    rules = config.pool_rules()
    rules["owned"] = Customer.objects.filter(owner_id=actor.pk).count()
    return rules


def pool_preview(*, actor: Any, now: dt.datetime, sample: int = 10) -> dict[str, Any]:
    """What the pool rules would return to the pool at `now` (administrators only)."""
    from crm.core.errors import NotFound
    from crm.customers import config
    from crm.customers.services import pool_candidates_unscoped

    if not is_admin(actor):
        raise NotFound()
    qs = pool_candidates_unscoped(now=now)
    return {
        "at": now,
        "enabled": bool(config.pool_rules().get("enabled", True)),
        "count": qs.count(),
        "sample": list(qs.select_related("owner").order_by("id")[:sample]),
    }


def tag_customer_counts(*, actor: Any) -> dict[int, int]:
    """Customers the actor may see that carry each tag directly (one grouped query)."""
    from django.db.models import Count

    if not can(actor, "view", "tag"):
        return {}
    from crm.customers.models import CustomerTag

    rows = (
        CustomerTag.objects.filter(customer_id__in=visible(actor, Customer).values("pk"))
        .values("tag_id")
        .annotate(n=Count("customer_id"))
    )
    return {r["tag_id"]: r["n"] for r in rows}


def custom_field_admin_list(*, actor: Any, entity: str) -> list[Any]:
    """Every definition of an entity, inactive ones too (administrators only)."""
    from crm.core.errors import NotFound

    if not is_admin(actor):
        raise NotFound()
    return custom_field_defs(entity, active_only=False)


def custom_field_admin_get(*, actor: Any, field_id: Any) -> Any:
    from crm.core.errors import NotFound
    from crm.customfields.models import CustomFieldDef

    if not is_admin(actor):
        raise NotFound()
    field = CustomFieldDef.objects.filter(pk=_int(field_id, "id") or 0).first()
    if field is None:
        raise NotFound()
    return field


def handover_contact_counts(*, actor: Any, from_user: Any) -> dict[int, int]:
    """Contacts per customer of a leaving user, for the handover preview (administrators only)."""
    from django.db.models import Count

    if not is_admin(actor):
        return {}
    rows = (
        Contact.objects.filter(customer__owner=from_user)
        .values("customer_id")
        .annotate(n=Count("id"))
    )
    return {r["customer_id"]: r["n"] for r in rows}


def collaboration_requests_pending_count(*, actor: Any) -> int:
    """How many requests wait for the actor's decision (same rule as the inbox)."""
    qs = CollaborationRequest.objects.filter(status=RequestStatus.PENDING)
    if not is_admin(actor):
        qs = qs.filter(customer__owner_id__in=[actor.pk, *report_ids(actor)])
    return qs.count()


def customers_attach_tags(customers: list[Customer]) -> None:
    """Set `tag_list` on each customer in one query (as customer_list does for its page)."""
    _attach_tags(customers)


def timeline_data_present(actor: Any, event: TimelineEvent) -> dict[str, Any]:
    """An event's `data` through field security: the old → new values of a hidden field are
    left out and those of a masked field masked, as on the record itself."""
    from crm.access.fieldsec import field_level, mask_value
    from crm.access.models import FieldAccess

    entity_key = "contact" if event.contact_id or event.ref_entity == "contact" else "customer"
    entity = entity_get(entity_key)
    data = dict(event.data or {})
    for block_key in ("changes", "values"):
        block = data.get(block_key)
        if not isinstance(block, dict):
            continue
        shown: dict[str, Any] = {}
        for name, value in block.items():
            level = field_level(actor, entity_key, name)
            if level == FieldAccess.HIDDEN:
                continue
            if level in (FieldAccess.MASKED, FieldAccess.REVEAL):
                spec = entity.field(name)
                kind = spec.kind if spec else "text"
                if isinstance(value, list):
                    value = [mask_value(v, kind) for v in value]
                else:
                    value = mask_value(value, kind)
            shown[name] = value
        data[block_key] = shown
    return data


# ----------------------------------------------------------------- customer pages
# (list rows, owner pickers, the registration hit)


def customer_primary_contacts(*, actor: Any, customer_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The primary contact of each listed customer, through field security (one query)."""
    if not customer_ids:
        return {}
    rows = (
        visible(actor, Contact).filter(customer_id__in=customer_ids, is_primary=True).order_by("id")
    )
    out: dict[int, dict[str, Any]] = {}
    for contact in rows:
        out.setdefault(contact.customer_id, contact_present(actor, contact))
    return out


def customer_owner_choices(*, actor: Any) -> list[Any]:
    """Whom the actor may make a customer's owner: themselves and their reports (everyone
    active for administrators), the same rule the services check."""
    from crm.access.models import User

    qs = visible(actor, User).filter(is_active=True).select_related("department")
    if not is_admin(actor):
        qs = qs.filter(pk__in=[actor.pk, *report_ids(actor)])
    return list(qs.order_by("username"))


def customer_duplicate_info(*, actor: Any, customer_id: Any) -> dict[str, Any]:
    """What registration (报备) may tell the actor about an existing customer, seen or not:
    its name, owner and department, through field security (services.duplicate_describe)."""
    from crm.core.errors import NotFound
    from crm.customers.services import DuplicateHit, duplicate_describe

    # Unscoped on purpose: the hit is usually a customer of another department.
    customer = (
        Customer.objects.select_related("owner", "owner__department")
        .filter(pk=_int(customer_id, "id") or 0)
        .first()
    )
    if customer is None:
        raise NotFound()
    return duplicate_describe(actor, DuplicateHit(customer))


def customer_owner_shortlist(*, actor: Any, include: Any = None) -> list[Any]:
    """Owner pickers on list pages (filter, bulk transfer): the actor, their reports, the
    department heads and the user currently chosen — never every user of a large company
    (a thousand <option>s made the list page four times slower at a million customers)."""
    from crm.access.models import Department, User

    reports = report_ids(actor)
    # A big team is filtered with "my team" or by department; list people only when few.
    ids: set[int] = {actor.pk, *(reports if len(reports) <= SHORTLIST_MAX else [])}
    if is_admin(actor):
        ids |= set(Department.objects.exclude(manager=None).values_list("manager_id", flat=True))
    try:
        if include not in (None, "", "me", "team"):
            ids.add(int(include))
    except (TypeError, ValueError):
        pass
    qs = visible(actor, User).filter(pk__in=ids, is_active=True).select_related("department")
    if not is_admin(actor):
        qs = qs.filter(pk__in=[actor.pk, *reports])
    return list(qs.order_by("username")[: SHORTLIST_MAX + 1])


SHORTLIST_MAX = 60
