"""Customer and contact pages (htmx, phone first): thin, over services and selectors.

Each view parses its input with a form, calls one service or selector and renders. A record
outside the actor's scope is a 404 (NotFound); a domain error is shown next to its field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access.fieldsec import field_state, present, reveal
from crm.access.registry import entity_get
from crm.access.selectors import user_choices, user_names
from crm.access.visibility import can, is_admin
from crm.core.errors import Conflict, DomainError, NotFound, StaleVersion
from crm.core.pagination import Page
from crm.core.viewutils import fragment_target, get_or_404, redirect_htmx, safe_next
from crm.customers import config
from crm.customers.filters import contact_filter_form, customer_filter_form
from crm.customers.forms import (
    PROVINCES,
    RELEASE_REASONS,
    CollaborationRequestForm,
    ContactForm,
    CustomerBulkForm,
    CustomerFilterForm,
    CustomerForm,
    QuickAddForm,
    ReleaseForm,
    SavedViewForm,
    TimelineFilterForm,
    quick_add_prefill,
)
from crm.customers.models import Contact, ContactRole, Customer, CustomerStatus
from crm.customers.selectors import (
    contact_get,
    contact_list,
    contact_present,
    custom_fields_for,
    customer_360,
    customer_duplicate_info,
    customer_get,
    customer_list,
    customer_owner_choices,
    customer_owner_shortlist,
    customer_primary_contacts,
    customer_timeline,
    saved_views,
    tag_list,
    timeline_data_present,
)
from crm.customers.services import (
    collaboration_request_create,
    contact_create,
    contact_delete,
    contact_update,
    customer_claim,
    customer_create,
    customer_delete,
    customer_quick_add,
    customer_release,
    customer_transfer,
    customer_update,
    customers_tag,
    saved_view_delete,
    saved_view_save,
)
from crm.customfields.models import CustomFieldType
from crm.search.selectors import search
from crm.timeline.services import timeline_kinds

# 25 rows a page: a phone screen holds fewer, and "load more" is one tap; rendering 50
# rows of the list template was most of the page's server time at a million customers.
PAGE_SIZE = 25
TIMELINE_PAGE = 30
REVEALABLE = ("mobile", "phone", "email", "wechat")
PROFILE_FIELDS = [
    "credit_code",
    "industry",
    "level",
    "source",
    "status",
    "province",
    "city",
    "address",
    "website",
    "notes",
]
CONTACT_CHANNELS = ("mobile", "phone", "email", "wechat")


# ----------------------------------------------------------------- helpers


def _states(actor: Any, entity_key: str) -> dict[str, dict[str, bool]]:
    entity = entity_get(entity_key)
    return {f.name: field_state(actor, entity, f.name) for f in entity.fields}


def _list_params(request: HttpRequest) -> str:
    """The list's filters as a query string (no cursor): what a saved view stores."""
    params = request.GET.copy()
    for key in ("cursor", "page"):
        params.pop(key, None)
    return params.urlencode()


def _user_custom_defs(defs: list[Any]) -> bool:
    return any(d.type == CustomFieldType.USER for d in defs)


def _custom_display(d: Any, value: Any, names: dict[int, str]) -> str:
    if value in (None, "", []):
        return ""
    if d.type == CustomFieldType.BOOLEAN:
        return str(_("是")) if value else str(_("否"))
    if d.type == CustomFieldType.MULTICHOICE and isinstance(value, list):
        return "、".join(str(v) for v in value)
    if d.type == CustomFieldType.USER:
        return names.get(int(value), "—") if str(value).isdigit() else "—"
    if d.type == CustomFieldType.MONEY:
        try:
            return f"¥{float(value):,.2f}"
        except (TypeError, ValueError):
            return str(value)
    if d.type == CustomFieldType.NUMBER and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ----------------------------------------------------------------- list


def _customer_filter_form(request: HttpRequest, tags: list[Any]) -> CustomerFilterForm:
    return customer_filter_form(request.user, request.GET, tags=tags)


def customer_rows(actor: Any, customers: list[Customer]) -> list[dict[str, Any]]:
    """Each listed customer through field security, with its primary contact and tags."""
    contacts = customer_primary_contacts(actor=actor, customer_ids=[c.pk for c in customers])
    rows = []
    for c in customers:
        rows.append(
            {
                "obj": c,
                "values": present(actor, c),
                "contact": contacts.get(c.pk),
                "tags": getattr(c, "tag_list", []),
            }
        )
    return rows


@login_required
@vary_on_headers("HX-Request")
def customer_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", Customer):
        raise Http404()
    tags = tag_list(actor=actor)
    form = _customer_filter_form(request, tags)
    filters = form.filters()
    try:
        page = customer_list(
            actor=actor, filters=filters, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        page = Page(items=[], next=None)
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "rows": customer_rows(actor, page.items),
        "filtered": bool(form.active_count() or filters.get("q")),
        "can_edit": can(actor, "edit", Customer),
        "can_delete": can(actor, "delete", Customer),
        "can_create": can(actor, "create", Customer),
    }
    target = fragment_target(request)
    if target == "customer-more":
        return render(request, "customers/_customer_rows.html", context)
    if target == "customer-results":
        return render(request, "customers/_customer_results.html", context)
    context.update(
        {
            "saved_views": saved_views(actor=actor, entity="customer"),
            "params": _list_params(request),
            "bulk_form": CustomerBulkForm(tags=tags, owners=customer_owner_shortlist(actor=actor)),
            "provinces": PROVINCES,
            "release_reasons": RELEASE_REASONS,
        }
    )
    return render(request, "customers/customer_list.html", context)


@login_required
@require_POST
def customer_bulk_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    back = safe_next(request, reverse("customer_list"))
    form = CustomerBulkForm(
        request.POST,
        tags=tag_list(actor=actor),
        owners=customer_owner_shortlist(actor=actor, include=request.POST.get("owner")),
    )
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, str(e))
        return redirect(back)
    data = form.cleaned_data
    ids: list[int] = data["ids"]
    action = data["action"]
    try:
        if action in ("tag", "untag"):
            n = customers_tag(actor=actor, customer_ids=ids, tags=data["tags"], add=action == "tag")
            messages.success(request, _("已更新 %(n)d 个客户的标签") % {"n": n})
        elif action == "transfer":
            n = customer_transfer(actor=actor, customer_ids=ids, owner=data["owner"])
            messages.success(
                request,
                _("已把 %(n)d 个客户转给 %(owner)s") % {"n": n, "owner": data["owner"].name},
            )
        elif action == "release":
            # All or nothing, like the other bulk services.
            with transaction.atomic():
                for pk in ids:
                    customer = customer_get(actor=actor, customer_id=pk)
                    customer_release(actor=actor, customer=customer, reason=data["reason"])
            messages.success(request, _("已把 %(n)d 个客户退回公海") % {"n": len(ids)})
        elif action == "delete":
            with transaction.atomic():
                for pk in ids:
                    customer = customer_get(actor=actor, customer_id=pk)
                    customer_delete(actor=actor, customer=customer)
            done = len(ids)
            messages.success(
                request, _("已把 %(n)d 个客户删除到回收站，可在回收站恢复") % {"n": done}
            )
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(back)


@login_required
@require_POST
def saved_view_save_view(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    entity = "contact" if request.POST.get("entity") == "contact" else "customer"
    list_url = reverse("contact_list" if entity == "contact" else "customer_list")
    if not form.is_valid():
        messages.error(request, _("请为视图起个名字"))
        return redirect(list_url)
    params = form.cleaned_data["params"]
    try:
        view = saved_view_save(
            actor=request.user, entity=entity, name=form.cleaned_data["name"], params=params
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(list_url)
    messages.success(request, _("已保存视图「%s」") % view.name)
    return redirect(f"{list_url}?{view.params}" if view.params else list_url)


@login_required
@require_POST
def saved_view_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        saved_view_delete(actor=request.user, view_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, _("已删除视图"))
    return redirect(safe_next(request, reverse("customer_list")))


@login_required
def customer_export_view(request: HttpRequest) -> HttpResponseBase:
    """The list's 导出 button: the current filters, as xlsx or csv (crm.exports)."""
    from crm.exports.views import export_view

    return export_view(request, entity="customer")


# ----------------------------------------------------------------- create / quick add


def _customer_form(
    request: HttpRequest, *, creating: bool, data: Any = None, initial: Any = None
) -> CustomerForm:
    actor = request.user
    defs = custom_fields_for("customer")
    kwargs: dict[str, Any] = {
        "creating": creating,
        "levels": config.levels(),
        "sources": config.sources(),
        "custom_defs": defs,
        "users": user_choices(actor=actor) if _user_custom_defs(defs) else [],
        "states": _states(actor, "customer"),
    }
    if creating:
        kwargs["tags"] = tag_list(actor=actor)
        kwargs["owners"] = customer_owner_choices(actor=actor)
        kwargs["contact_states"] = _states(actor, "contact")
    form = CustomerForm(data, initial=initial, **kwargs)
    form.init_kwargs = kwargs
    return form


def _duplicate(request: HttpRequest, exc: Conflict) -> dict[str, Any] | None:
    if not exc.existing_id:
        return None
    try:
        info = customer_duplicate_info(actor=request.user, customer_id=exc.existing_id)
    except NotFound:
        return None
    info["message"] = exc.message
    return info


@login_required
def customer_create_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "create", Customer):
        raise Http404()
    context: dict[str, Any] = {
        "creating": True,
        "provinces": PROVINCES,
        "allow_override": is_admin(actor),
    }
    if request.method != "POST":
        initial = {"name": request.GET.get("name", "")[:200]}
        context["form"] = _customer_form(request, creating=True, initial=initial)
        return render(request, "customers/customer_form.html", context)
    form = _customer_form(request, creating=True, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        contact = form.contact_data()
        try:
            customer = customer_create(
                actor=actor,
                data=form.customer_data(),
                contacts=[contact] if contact else [],
                tags=data.get("tags") or [],
                custom=form.custom_values(),
                owner=data.get("owner"),
                allow_duplicate=bool(data.get("allow_duplicate")),
            )
        except Conflict as exc:
            # The registration hit is shown as a panel (owner, department, what to do).
            context["duplicate"] = _duplicate(request, exc)
            if context["duplicate"] is None:
                form.add_domain_error(exc)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已创建客户「%s」") % customer.name)
            return redirect("customer_detail", pk=customer.pk)
    context["form"] = form
    return render(request, "customers/customer_form.html", context, status=400)


@login_required
def customer_quick_add_view(request: HttpRequest) -> HttpResponse:
    """Name plus one contact channel, in one screen (a modal from the header, or a page)."""
    actor = request.user
    if not can(actor, "create", Customer):
        raise Http404()
    target = fragment_target(request)
    modal = target == "quick-add-content" or request.POST.get("modal") == "1"
    if target == "quick-add-form":
        template = "customers/_quick_add_form.html"  # the pasted text was read: the form only
    elif modal:
        template = "customers/_quick_add.html"
    else:
        template = "customers/quick_add.html"
    context: dict[str, Any] = {"modal": modal}
    if request.method != "POST":
        context["form"] = QuickAddForm()
        return render(request, template, context)
    if request.POST.get("action") == "parse":
        data, filled = quick_add_prefill(request.POST)
        context["form"] = QuickAddForm(initial=data)
        context["filled"] = filled
        context["parsed"] = True
        return render(request, template, context)
    form = QuickAddForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            customer = customer_quick_add(
                actor=actor,
                name=data["name"],
                contact_name=data["contact_name"],
                mobile=data["mobile"],
                phone=data["phone"],
                email=data["email"],
                wechat=data["wechat"],
            )
        except Conflict as exc:
            # The registration hit is shown as a panel (owner, department, what to do).
            context["duplicate"] = _duplicate(request, exc)
            if context["duplicate"] is None:
                form.add_domain_error(exc)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已创建客户「%s」") % customer.name)
            return redirect_htmx(request, reverse("customer_detail", args=[customer.pk]))
    context["form"] = form
    # An htmx swap needs a 2xx answer; a plain form post says 400.
    return render(request, template, context, status=200 if target is not None else 400)


@login_required
@require_POST
def collaboration_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Registration found the customer already owned: ask its owner to be added as collaborator."""
    form = CollaborationRequestForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        collaboration_request_create(actor=request.user, customer_id=pk, reason=reason)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.info(request, exc.message)
        return redirect_htmx(request, reverse("customer_detail", args=[pk]))
    messages.success(request, _("已发送协作申请，负责人同意后您就能看到并跟进该客户"))
    return redirect_htmx(request, reverse("customer_list"))


# ----------------------------------------------------------------- 360 page


def _change_labels(entity_key: str) -> dict[str, str]:
    labels = {f.name: str(f.label) for f in entity_get(entity_key).fields}
    labels.update(
        {
            "owner": str(_("负责人")),
            "collaborator": str(_("协作人")),
            "tags": str(_("标签")),
            "is_primary": str(_("主要联系人")),
        }
    )
    return labels


def _change_value(name: str, value: Any) -> str:
    if value in (None, "", []):
        return "—"
    if name == "status":
        return str(dict(CustomerStatus.choices).get(value, value))
    if name == "role":
        return str(dict(ContactRole.choices).get(value, value))
    if isinstance(value, bool):
        return str(_("是")) if value else str(_("否"))
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def timeline_rows(
    actor: Any, events: list[Any], custom_defs: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    """Events as the timeline shows them: kind, who, when, and field: old → new with labels,
    through field security (timeline_data_present)."""
    kinds = timeline_kinds()
    labels = {"customer": _change_labels("customer"), "contact": _change_labels("contact")}
    rows = []
    for event in events:
        entity_key = "contact" if event.contact_id or event.ref_entity == "contact" else "customer"
        data = timeline_data_present(actor, event)
        changes = []
        for name, pair in (data.get("changes") or {}).items():
            if not isinstance(pair, list) or len(pair) != 2:
                continue
            old, new = pair
            if (
                name == "custom"
                and isinstance(old, dict | type(None))
                and isinstance(new, dict | type(None))
            ):
                old, new = old or {}, new or {}
                for d in custom_defs.get(entity_key, []):
                    if old.get(d.key) != new.get(d.key):
                        changes.append(
                            {
                                "label": d.label,
                                "old": _change_value(d.key, old.get(d.key)),
                                "new": _change_value(d.key, new.get(d.key)),
                            }
                        )
                continue
            changes.append(
                {
                    "label": labels[entity_key].get(name, name),
                    "old": _change_value(name, old),
                    "new": _change_value(name, new),
                }
            )
        kind = kinds.get(event.kind)
        rows.append(
            {
                "event": event,
                "kind_label": kind.label if kind else event.kind,
                "color": kind.color if kind else "secondary",
                "changes": changes,
            }
        )
    return rows


def _timeline_context(
    actor: Any, customer: Customer, page: Page, kind: str, customer_defs: list[Any] | None = None
) -> dict[str, Any]:
    defs = {
        "customer": customer_defs if customer_defs is not None else custom_fields_for("customer"),
        "contact": custom_fields_for("contact"),
    }
    return {
        "customer": customer,
        "timeline": timeline_rows(actor, page.items, defs),
        "timeline_next": page.next,
        "kind": kind,
    }


def _relative_day(value: dt.datetime | None, now: dt.datetime) -> str:
    if value is None:
        return ""
    days = (timezone.localtime(value).date() - now.date()).days
    if days == 0:
        return str(_("今天"))
    if days == 1:
        return str(_("明天"))
    if days == -1:
        return str(_("昨天"))
    if days < 0:
        return _("逾期 %(n)d 天") % {"n": -days}
    return _("%(n)d 天后") % {"n": days}


@login_required
@vary_on_headers("HX-Request")
def customer_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    kinds_form = TimelineFilterForm(request.GET)
    kinds = kinds_form.kinds()
    view = get_or_404(customer_360, actor=actor, customer_id=pk, kinds=kinds)
    customer = view.customer
    contact_states = _states(actor, "contact")
    custom_defs = [d for d, _v in view.custom_fields]
    names = (
        user_names(
            actor=actor,
            ids=[v for d, v in view.custom_fields if d.type == CustomFieldType.USER and v],
        )
        if _user_custom_defs(custom_defs)
        else {}
    )
    custom_rows = [
        {"label": d.label, "value": _custom_display(d, v, names)} for d, v in view.custom_fields
    ]
    primary = view.contacts[0] if view.contacts else None
    call_number = ""
    if primary is not None:
        for key in ("mobile", "phone"):
            if primary.get(key) and not contact_states[key]["masked"]:
                call_number = primary[key]
                break
    now = timezone.localtime()
    entity = entity_get("customer")
    profile_rows = []
    for name in PROFILE_FIELDS:
        if name not in view.values:
            continue  # hidden from this user
        value = view.values[name]
        if name == "status":
            value = dict(CustomerStatus.choices).get(value, value)
        spec = entity.field(name)
        profile_rows.append({"name": name, "label": spec.label if spec else name, "value": value})
    context = {
        "v": view,
        "profile_rows": profile_rows,
        "role_labels": dict(ContactRole.choices),
        "customer": customer,
        "values": view.values,
        "states": view.states,
        "contact_states": contact_states,
        "custom_rows": custom_rows,
        "call_number": call_number,
        "primary": primary,
        "next_follow_up": _relative_day(customer.next_follow_up_at, now),
        "overdue": bool(customer.next_follow_up_at and customer.next_follow_up_at < now),
        "kinds": list(timeline_kinds().values()),
        "release_form": ReleaseForm(),
        "release_reasons": RELEASE_REASONS,
        "status_label": dict(CustomerStatus.choices).get(customer.status, customer.status),
        "can_add_contact": view.can_edit and can(actor, "create", Contact),
        "can_create_task": can(actor, "create", "task"),
        **_timeline_context(actor, customer, view.timeline, kinds[0] if kinds else "", custom_defs),
    }
    return render(request, "customers/customer_detail.html", context)


@login_required
@vary_on_headers("HX-Request")
def customer_timeline_view(request: HttpRequest, pk: int) -> HttpResponse:
    """More of the timeline (keyset cursor), or the timeline filtered by kind."""
    actor = request.user
    kinds = TimelineFilterForm(request.GET).kinds()
    customer = get_or_404(customer_get, actor=actor, customer_id=pk)
    try:
        page = customer_timeline(
            actor=actor,
            customer_id=customer.pk,
            kinds=kinds,
            cursor=request.GET.get("cursor") or None,
            limit=TIMELINE_PAGE,
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        page = Page(items=[], next=None)
    context = _timeline_context(actor, customer, page, kinds[0] if kinds else "")
    context["kinds"] = list(timeline_kinds().values())
    if fragment_target(request) is not None:
        return render(request, "customers/_timeline.html", context)
    return render(request, "customers/customer_timeline.html", context)


# ----------------------------------------------------------------- edit


def _require_edit(actor: Any, obj: Any) -> None:
    """Seen but not editable (a manager on a rep's customer): 403, the record is no secret."""
    if not can(actor, "edit", obj):
        raise DjangoPermissionDenied(_("您可以查看该记录，但无权修改"))


def _stale(form: Any, exc: StaleVersion, data: QueryDict, fresh_initial: dict[str, Any]) -> Any:
    """Keep what the user typed, move the version on, and show what the other person saved."""
    data = data.copy()
    data["version"] = str(fresh_initial.get("version", ""))
    rebound = type(form)(data, initial=fresh_initial, **form.init_kwargs)
    rebound.init_kwargs = form.init_kwargs
    rebound.is_valid()
    rebound.add_error(None, exc.message)
    rebound.conflicts = rebound.conflicts_with(fresh_initial)
    return rebound


@login_required
def customer_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    customer = get_or_404(customer_get, actor=actor, customer_id=pk)
    _require_edit(actor, customer)
    inline = fragment_target(request) == "customer-profile"
    template = "customers/_customer_form_inline.html" if inline else "customers/customer_form.html"
    context: dict[str, Any] = {"creating": False, "customer": customer, "provinces": PROVINCES}
    initial = {
        **CustomerForm.initial_for(customer, present(actor, customer)),
        **CustomerForm.custom_initial(custom_fields_for("customer"), customer.custom),
    }
    if request.method != "POST":
        context["form"] = _customer_form(request, creating=False, initial=initial)
        return render(request, template, context)
    form = _customer_form(request, creating=False, data=request.POST, initial=initial)
    if form.is_valid():
        try:
            customer_update(
                actor=actor,
                customer=customer,
                expected_version=form.cleaned_data.get("version"),
                data=form.customer_data(),
                custom=form.custom_values(),
            )
        except StaleVersion as exc:
            fresh = get_or_404(customer_get, actor=actor, customer_id=pk)
            fresh_initial = {
                **CustomerForm.initial_for(fresh, present(actor, fresh)),
                **CustomerForm.custom_initial(custom_fields_for("customer"), fresh.custom),
            }
            form = _stale(form, exc, request.POST, fresh_initial)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存"))
            return redirect_htmx(request, reverse("customer_detail", args=[pk]))
    context["form"] = form
    return render(request, template, context, status=200 if inline else 400)


# ----------------------------------------------------------------- ownership and deletion


@login_required
@require_POST
def customer_claim_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    customer = get_or_404(customer_get, actor=actor, customer_id=pk)
    try:
        customer_claim(actor=actor, customer=customer)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已领取「%s」，现在由您负责") % customer.name)
    return redirect(safe_next(request, reverse("customer_detail", args=[pk])))


@login_required
@require_POST
def customer_release_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    customer = get_or_404(customer_get, actor=actor, customer_id=pk)
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写退回公海的原因"))
        return redirect("customer_detail", pk=pk)
    try:
        customer_release(actor=actor, customer=customer, reason=form.cleaned_data["reason"])
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已把「%s」退回公海") % customer.name)
    return redirect("customer_detail", pk=pk)


@login_required
@require_POST
def customer_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    customer = get_or_404(customer_get, actor=actor, customer_id=pk)
    try:
        customer_delete(actor=actor, customer=customer)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("customer_detail", pk=pk)
    messages.success(request, _("已把「%s」删除到回收站，可在回收站恢复") % customer.name)
    return redirect("customer_list")


# ----------------------------------------------------------------- contacts


def _contact_form(
    request: HttpRequest, *, creating: bool, data: Any = None, initial: Any = None
) -> ContactForm:
    actor = request.user
    defs = custom_fields_for("contact")
    kwargs: dict[str, Any] = {
        "creating": creating,
        "custom_defs": defs,
        "users": user_choices(actor=actor) if _user_custom_defs(defs) else [],
        "states": _states(actor, "contact"),
    }
    form = ContactForm(data, initial=initial, **kwargs)
    form.init_kwargs = kwargs
    return form


@login_required
def contact_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    customer = get_or_404(customer_get, actor=actor, customer_id=pk)
    _require_edit(actor, customer)
    context: dict[str, Any] = {"creating": True, "customer": customer}
    if request.method != "POST":
        context["form"] = _contact_form(request, creating=True)
        return render(request, "customers/contact_form.html", context)
    form = _contact_form(request, creating=True, data=request.POST)
    if form.is_valid():
        try:
            contact = contact_create(
                actor=actor,
                customer=customer,
                data=form.contact_data(),
                custom=form.custom_values(),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已添加联系人「%s」") % contact.name)
            return redirect(reverse("customer_detail", args=[pk]) + f"#contact-{contact.pk}")
    context["form"] = form
    return render(request, "customers/contact_form.html", context, status=400)


@login_required
def contact_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    contact = get_or_404(contact_get, actor=actor, contact_id=pk)
    _require_edit(actor, contact)
    customer = contact.customer
    context: dict[str, Any] = {"creating": False, "customer": customer, "contact": contact}
    defs = custom_fields_for("contact")
    initial = {
        **ContactForm.initial_for(contact, present(actor, contact)),
        **ContactForm.custom_initial(defs, contact.custom),
    }
    if request.method != "POST":
        context["form"] = _contact_form(request, creating=False, initial=initial)
        return render(request, "customers/contact_form.html", context)
    form = _contact_form(request, creating=False, data=request.POST, initial=initial)
    if form.is_valid():
        try:
            contact_update(
                actor=actor,
                contact=contact,
                expected_version=form.cleaned_data.get("version"),
                data=form.contact_data(),
                custom=form.custom_values(),
            )
        except StaleVersion as exc:
            fresh = get_or_404(contact_get, actor=actor, contact_id=pk)
            fresh_initial = {
                **ContactForm.initial_for(fresh, present(actor, fresh)),
                **ContactForm.custom_initial(defs, fresh.custom),
            }
            form = _stale(form, exc, request.POST, fresh_initial)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存联系人「%s」") % contact.name)
            return redirect(reverse("customer_detail", args=[customer.pk]) + f"#contact-{pk}")
    context["form"] = form
    return render(request, "customers/contact_form.html", context, status=400)


@login_required
@require_POST
def contact_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    contact = get_or_404(contact_get, actor=actor, contact_id=pk)
    try:
        contact_delete(actor=actor, contact=contact)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已把联系人「%s」删除到回收站，可在回收站恢复") % contact.name)
    return redirect("customer_detail", pk=contact.customer_id)


@login_required
@require_POST
def contact_reveal_view(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    """The clear value of a masked field, for those allowed to reveal it (audited)."""
    actor = request.user
    if field not in REVEALABLE:
        raise Http404()
    contact = get_or_404(contact_get, actor=actor, contact_id=pk)
    try:
        value = reveal(actor, contact, field)
    except DomainError as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    return render(
        request,
        "customers/_revealed.html",
        {
            "contact": contact,
            "field": field,
            "value": value or "",
            "raw": getattr(contact, f"{field}_raw", ""),
        },
    )


def contact_rows(actor: Any, contacts: list[Contact]) -> list[dict[str, Any]]:
    rows = []
    for c in contacts:
        values = contact_present(actor, c)
        values["customer"] = c.customer
        values["role_label"] = dict(ContactRole.choices).get(c.role, c.role)
        rows.append(values)
    return rows


@login_required
@vary_on_headers("HX-Request")
def contact_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", Contact):
        raise Http404()
    form = contact_filter_form(actor, request.GET)
    filters = form.filters()
    try:
        page = contact_list(
            actor=actor, filters=filters, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        page = Page(items=[], next=None)
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "rows": contact_rows(actor, page.items),
        "states": _states(actor, "contact"),
        "filtered": bool(form.active_count() or filters.get("q")),
    }
    target = fragment_target(request)
    if target == "contact-more":
        return render(request, "customers/_contact_rows.html", context)
    if target == "contact-results":
        return render(request, "customers/_contact_results.html", context)
    context["saved_views"] = saved_views(actor=actor, entity="contact")
    context["params"] = _list_params(request)
    return render(request, "customers/contact_list.html", context)


# ----------------------------------------------------------------- search


@login_required
@vary_on_headers("HX-Request")
def search_view(request: HttpRequest) -> HttpResponse:
    """The global search: a dropdown while typing (htmx), the full results page on Enter."""
    q = request.GET.get("q", "").strip()[:100]
    dropdown = fragment_target(request) == "global-search-results"
    hits = search(actor=request.user, q=q, limit=8 if dropdown else 50) if q else []
    context = {"q": q, "hits": hits}
    if dropdown:
        return render(request, "customers/_search_dropdown.html", context)
    return render(request, "customers/search.html", context)
