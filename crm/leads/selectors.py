"""Every read of leads, their history, assignment rules and capture forms."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from crm.access.models import Department, User
from crm.access.visibility import is_admin, report_ids, visible, visible_get
from crm.core.errors import NotFound, ValidationFailed
from crm.core.pagination import Page, paginate
from crm.leads.assignment import OPEN_STATUSES
from crm.leads.models import (
    AssignmentRule,
    CaptureForm,
    Lead,
    LeadAssignment,
    LeadEvent,
    LeadStatus,
)

LEAD_SORTS: dict[str, tuple[str, ...]] = {
    "-id": ("-id",),
    "id": ("id",),
    "-updated_at": ("-updated_at", "-id"),
    "name": ("name", "id"),
}


def _int(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{field}: not a number", field=field) from exc


def lead_get(*, actor: Any, lead_id: Any) -> Lead:
    qs = Lead.objects.select_related(
        "owner", "owner__department", "converted_customer", "converted_contact", "created_by"
    )
    return visible_get(actor, qs, lead_id)


def lead_filter(actor: Any, filters: Any) -> QuerySet[Lead]:
    """The filtered, visible leads: shared by the list page and the API.

    owner: "me", "team" (me and my reports), a user id, or "pool" (unassigned); without
    it, every visible lead that has an owner (the pool has its own page).
    """
    get = filters.get
    qs = visible(actor, Lead).select_related("owner", "owner__department")
    owner = str(get("owner") or "")
    if owner == "pool" or get("pool") in (True, "1", "true"):
        qs = qs.filter(owner__isnull=True)
    elif owner == "me":
        qs = qs.filter(owner_id=actor.pk)
    elif owner == "team":
        qs = qs.filter(owner_id__in=[actor.pk, *report_ids(actor)])
    elif owner == "any":
        pass
    elif owner:
        qs = qs.filter(owner_id=_int(owner, "owner"))
    else:
        qs = qs.filter(owner__isnull=False)
    status = get("status")
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=str(status)[:20])
    for key in ("source", "province", "industry", "city"):
        value = get(key)
        if value:
            qs = qs.filter(**{key: str(value)[:100]})
    q = str(get("q") or "").strip()[:100]
    if q:
        from crm.search.selectors import _candidate_ids, digit_query, phones_masked

        if phones_masked(actor, "lead", digit_query(q)):
            ids: list[int] = []
        else:
            ids = [row[1] for row in _candidate_ids(q, ["lead"])]
        qs = qs.filter(Q(pk__in=ids) | Q(name__icontains=q) | Q(company__icontains=q))
    return qs


def lead_list(*, actor: Any, filters: Any, cursor: str | None = None, limit: int = 25) -> Page:
    sort = str(filters.get("sort") or "-id")
    ordering = LEAD_SORTS.get(sort, LEAD_SORTS["-id"])
    return paginate(lead_filter(actor, filters), ordering=ordering, cursor=cursor, limit=limit)


@dataclass
class HistoryRow:
    at: dt.datetime
    kind: str
    actor: Any
    summary: str
    rule_name: str = ""
    user: Any = None


def lead_history(*, actor: Any, lead: Lead) -> list[HistoryRow]:
    """The lead's log, newest first: events (created, status, notes, edits) and every
    assignment with the rule that made it."""
    visible_get(actor, Lead.objects.all(), lead.pk)
    rows = [
        HistoryRow(e.at, e.kind, e.actor, e.summary)
        for e in LeadEvent.objects.filter(lead=lead).select_related("actor")
    ]
    for a in lead_assignments(lead=lead):
        rows.append(
            HistoryRow(a.at, "assigned", a.actor, a.reason, rule_name=a.rule_name, user=a.user)
        )
    rows.sort(key=lambda r: r.at, reverse=True)
    return rows


def lead_assignments(*, lead: Lead) -> list[LeadAssignment]:
    return list(
        LeadAssignment.objects.filter(lead=lead)
        .select_related("user", "actor", "rule")
        .order_by("-at", "-id")
    )


def lead_duplicates(*, actor: Any, lead: Lead) -> list[dict[str, Any]]:
    """Other open leads with this lead's mobile or email, as the actor may know them."""
    from crm.leads.services import lead_duplicate_describe, lead_duplicates_unscoped

    hits = lead_duplicates_unscoped(mobile=lead.mobile, email=lead.email, exclude_id=lead.pk)
    return [lead_duplicate_describe(actor, h) for h in hits]


def lead_home_stats(*, actor: Any) -> dict[str, int]:
    mine = Lead.objects.filter(owner_id=actor.pk, status__in=OPEN_STATUSES)
    return {
        "new": mine.filter(status=LeadStatus.NEW).count(),
        "open": mine.count(),
        "pool": visible(actor, Lead).filter(owner__isnull=True, status__in=OPEN_STATUSES).count(),
    }


def lead_status_counts(*, actor: Any, filters: Any) -> dict[str, int]:
    """How many of the filtered leads are in each status (the status tabs' badges)."""
    base = {k: v for k, v in filters.items() if k != "status"}
    rows = lead_filter(actor, base).order_by().values("status").annotate(n=Count("id"))
    return {r["status"]: r["n"] for r in rows}


# ----------------------------------------------------------------- pickers


def lead_assignees(*, actor: Any, include: Any = None) -> list[User]:
    """Whom the actor may hand leads to (the service checks again): administrators and
    roles that reach every lead pick among every active user with lead rights; managers
    among their department's subtree and their reports."""
    from crm.leads.services import _assign_reach

    reach = _assign_reach(actor)
    qs = User.objects.filter(is_active=True).select_related("department")
    with_leads = Q(roles__grants__entity="lead") | Q(roles__is_admin=True)
    if reach == "all":
        qs = qs.filter(with_leads)
    elif reach in ("department", "subtree") and actor.department_id:
        dept = actor.department
        team = (
            Q(department__path__startswith=dept.path)
            if reach == "subtree"
            else Q(department_id=dept.pk)
        )
        qs = qs.filter(with_leads).filter(team | Q(pk__in=[actor.pk, *report_ids(actor)]))
    else:
        return []
    users = list(qs.distinct().order_by("department__path", "id")[:300])
    if include and str(include).isdigit() and all(str(u.pk) != str(include) for u in users):
        extra = User.objects.filter(pk=int(include)).first()
        if extra is not None:
            users.append(extra)
    return users


def lead_owner_choices(*, actor: Any) -> list[User]:
    """Owner filter on the list: me, my reports (the pool is its own choice)."""
    ids = [actor.pk, *report_ids(actor)][:200]
    return list(User.objects.filter(pk__in=ids).order_by("id"))


def lead_customer_suggestions(*, actor: Any, lead: Lead, q: str = "") -> list[Any]:
    """Customers the actor may see that this lead may belong to (same company name key,
    the same phone or email on a contact), or those matching `q`: for "link to existing"."""
    from crm.customers.models import Contact, Customer
    from crm.customers.normalize import company_name_key

    base = visible(actor, Customer).select_related("owner")
    q = (q or "").strip()[:100]
    if q:
        from crm.customers.selectors import customer_filter

        return list(customer_filter(actor, {"q": q}).select_related("owner").order_by("-id")[:8])
    cond = Q(pk__in=[])
    if lead.company:
        cond |= Q(name_key=company_name_key(lead.company))
    phones = [p for p in (lead.mobile, lead.phone) if p]
    if phones:
        cond |= Q(
            pk__in=Contact.objects.filter(Q(mobile__in=phones) | Q(phone__in=phones)).values(
                "customer_id"
            )
        )
    if lead.email:
        cond |= Q(pk__in=Contact.objects.filter(email=lead.email).values("customer_id"))
    return list(base.filter(cond).order_by("-id")[:8])


def convert_customer_get(*, actor: Any, customer_id: Any) -> Any:
    from crm.customers.models import Customer

    return visible_get(actor, Customer.objects.select_related("owner"), customer_id)


def convert_contacts(*, actor: Any, customer_id: Any) -> list[Any]:
    from crm.customers.models import Contact

    if not customer_id:
        return []
    try:
        customer = convert_customer_get(actor=actor, customer_id=customer_id)
    except NotFound:
        return []
    return list(visible(actor, Contact).filter(customer=customer).order_by("-is_primary", "id"))


def convert_contact_get(*, actor: Any, contact_id: Any) -> Any:
    from crm.customers.models import Contact

    return visible_get(actor, Contact, contact_id)


def convert_pipelines() -> list[Any]:
    """The active pipelines to choose from (the default ones come back if the table is
    empty, as for the kanban: the choice is never blank)."""
    from crm.opportunities.models import Pipeline
    from crm.opportunities.services import pipelines_ensure

    pipelines_ensure()
    return list(Pipeline.objects.filter(is_active=True).order_by("order", "id"))


# ----------------------------------------------------------------- administration


def rules_list() -> list[AssignmentRule]:
    return list(AssignmentRule.objects.select_related("department", "user").order_by("order", "id"))


def rule_get(*, actor: Any, rule_id: Any) -> AssignmentRule:
    if not is_admin(actor):
        raise NotFound()
    rule = (
        AssignmentRule.objects.select_related("department", "user")
        .filter(pk=_int(rule_id, "id") or 0)
        .first()
    )
    if rule is None:
        raise NotFound()
    return rule


def rule_stats() -> dict[int, int]:
    """Leads each rule assigned in the last 30 days."""
    since = timezone.now() - dt.timedelta(days=30)
    rows = (
        LeadAssignment.objects.filter(at__gte=since, rule__isnull=False)
        .values("rule_id")
        .annotate(n=Count("id"))
    )
    return {r["rule_id"]: r["n"] for r in rows}


def team_departments() -> list[Department]:
    return list(Department.objects.filter(is_active=True).order_by("path", "sort", "id"))


def active_users() -> list[User]:
    return list(User.objects.filter(is_active=True).select_related("department").order_by("id"))


def user_by_id(user_id: Any) -> User | None:
    pk = _int(user_id, "user")
    return User.objects.filter(pk=pk).first() if pk else None


def capture_forms_list() -> list[CaptureForm]:
    return list(CaptureForm.objects.order_by("id"))


def capture_form_get(*, actor: Any, form_id: Any) -> CaptureForm:
    if not is_admin(actor):
        raise NotFound()
    form = CaptureForm.objects.filter(pk=_int(form_id, "id") or 0).first()
    if form is None:
        raise NotFound()
    return form


def capture_form_public(*, key: str) -> CaptureForm:
    """The public page of a web form: anyone with the key (unscoped: no user is signed in)."""
    form = CaptureForm.objects.filter(key=str(key)[:40], is_active=True).first()
    if form is None:
        raise NotFound()
    return form
