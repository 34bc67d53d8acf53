"""Lead pages (phone first) and the public web form: thin, over services and selectors.

A lead outside the actor's scope is a 404 (NotFound); a domain error is shown next to its
field or as a message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access.fieldsec import field_state, present
from crm.access.registry import entity_get
from crm.access.visibility import can
from crm.audit.context import client_ip
from crm.core.errors import Conflict, DomainError, NotFound, StaleVersion, ValidationFailed
from crm.core.middleware import CSP
from crm.core.pagination import Page
from crm.core.viewutils import fragment_target
from crm.customers.forms import PROVINCES
from crm.customers.selectors import customer_duplicate_info
from crm.customfields.services import custom_field_defs
from crm.leads import config
from crm.leads.forms import (
    AssignForm,
    ConvertForm,
    LeadBulkForm,
    LeadFilterForm,
    LeadForm,
    NoteForm,
    PublicLeadForm,
    ReasonForm,
    StatusForm,
)
from crm.leads.models import Lead, LeadStatus
from crm.leads.selectors import (
    capture_form_public,
    convert_contact_get,
    convert_contacts,
    convert_customer_get,
    convert_pipelines,
    lead_assignees,
    lead_assignments,
    lead_duplicates,
    lead_get,
    lead_history,
    lead_list,
    lead_owner_choices,
    lead_status_counts,
    user_by_id,
)
from crm.leads.services import (
    TooManySubmissions,
    capture_submit,
    lead_assign,
    lead_assign_bulk,
    lead_can_assign,
    lead_claim,
    lead_contact_defaults,
    lead_convert,
    lead_create,
    lead_customer_defaults,
    lead_delete,
    lead_note_add,
    lead_release,
    lead_status_change,
    lead_update,
)

PAGE_SIZE = 25
LIST_FIELDS = ["name", "company", "mobile", "email", "province", "city", "source", "industry"]
DETAIL_FIELDS = [
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
STATUS_COLORS: dict[str, str] = {
    LeadStatus.NEW.value: "blue",
    LeadStatus.CONTACTED.value: "cyan",
    LeadStatus.QUALIFIED.value: "green",
    LeadStatus.DISQUALIFIED.value: "secondary",
    LeadStatus.CONVERTED.value: "purple",
}


# ----------------------------------------------------------------- helpers


def _get_lead(actor: Any, pk: Any) -> Lead:
    try:
        return lead_get(actor=actor, lead_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _states(actor: Any) -> dict[str, dict[str, bool]]:
    entity = entity_get("lead")
    return {f.name: field_state(actor, entity, f.name) for f in entity.fields}


def _done(request: HttpRequest, lead: Lead) -> HttpResponse:
    return redirect("lead_detail", pk=lead.pk)


def _common(context: dict[str, Any]) -> dict[str, Any]:
    # Every lead page lights up the one "线索" menu entry.
    context.setdefault("nav_current", "lead_list")
    context.setdefault("provinces", PROVINCES)
    context.setdefault("sources", config.source_choices())
    return context


def lead_rows(actor: Any, leads: list[Lead]) -> list[dict[str, Any]]:
    return [
        {
            "obj": lead,
            "values": present(actor, lead, LIST_FIELDS),
            "color": STATUS_COLORS.get(lead.status, "secondary"),
        }
        for lead in leads
    ]


# ----------------------------------------------------------------- list, mine, pool


def _list(request: HttpRequest, *, tab: str) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", Lead):
        raise Http404()
    owners = lead_owner_choices(actor=actor)
    data = request.GET if any(k != "cursor" for k in request.GET) else None
    form = LeadFilterForm(data, owners=owners)
    filters = form.filters() if data is not None else {}
    if tab == "mine":
        filters["owner"] = "me"
    elif tab == "pool":
        filters["owner"] = "pool"
    try:
        page = lead_list(
            actor=actor, filters=filters, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
        counts = lead_status_counts(actor=actor, filters=filters)
    except DomainError as exc:
        messages.error(request, exc.message)
        page, counts = Page(items=[], next=None), {}
    url_name = {"mine": "lead_mine", "pool": "lead_pool"}.get(tab, "lead_list")
    can_assign = lead_can_assign(actor)
    context: dict[str, Any] = {
        "tab": tab,
        "form": form,
        "page": page,
        "rows": lead_rows(actor, page.items),
        "filtered": bool(form.active_count() or filters.get("q")) if data else False,
        "list_url": reverse(url_name),
        "can_create": can(actor, "create", Lead),
        "can_claim": tab == "pool" and can(actor, "edit", Lead),
        "can_assign": can_assign,
        "status_summary": [(label, counts[k]) for k, label in LeadStatus.choices if counts.get(k)],
    }
    target = fragment_target(request)
    if target == "lead-more":
        return render(request, "leads/_lead_rows.html", context)
    if target == "lead-results":
        return render(request, "leads/_lead_results.html", context)
    if can_assign:
        context["bulk_form"] = LeadBulkForm(users=lead_assignees(actor=actor))
    return render(request, "leads/lead_list.html", _common(context))


@login_required
@vary_on_headers("HX-Request")
def lead_list_view(request: HttpRequest) -> HttpResponse:
    return _list(request, tab="all")


@login_required
@vary_on_headers("HX-Request")
def lead_mine_view(request: HttpRequest) -> HttpResponse:
    return _list(request, tab="mine")


@login_required
@vary_on_headers("HX-Request")
def lead_pool_view(request: HttpRequest) -> HttpResponse:
    return _list(request, tab="pool")


@login_required
@require_POST
def lead_bulk_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    back = request.POST.get("next") or reverse("lead_list")
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("lead_list")
    form = LeadBulkForm(
        request.POST, users=lead_assignees(actor=actor, include=request.POST.get("owner"))
    )
    if not form.is_valid():
        messages.error(request, _("请先勾选线索并选择操作"))
        return redirect(back)
    data = form.cleaned_data
    try:
        n = lead_assign_bulk(
            actor=actor,
            lead_ids=data["ids"],
            user=data.get("owner"),
            by_rules=data["action"] == "rules",
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已分配 %(n)d 条线索") % {"n": n})
    return redirect(back)


# ----------------------------------------------------------------- create / edit


@login_required
def lead_create_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "create", Lead):
        raise Http404()
    assignees = lead_assignees(actor=actor) if lead_can_assign(actor) else []
    kwargs: dict[str, Any] = {
        "creating": True,
        "assignees": [u for u in assignees if u.pk != actor.pk],
        "custom_defs": custom_field_defs("lead"),
        "states": _states(actor),
    }
    context: dict[str, Any] = {"creating": True}
    if request.method != "POST":
        initial = {"assign": "me" if can(actor, "edit", Lead) else "rules"}
        context["form"] = LeadForm(initial=initial, **kwargs)
        return render(request, "leads/lead_form.html", _common(context))
    form = LeadForm(request.POST, **kwargs)
    if form.is_valid():
        assign = form.cleaned_data.get("assign") or "me"
        owner = user_by_id(assign) if assign.isdigit() else None
        try:
            lead = lead_create(
                actor=actor,
                data=form.lead_data(),
                custom=form.custom_values(),
                owner=owner,
                auto_assign=assign == "rules",
                refuse_duplicate=not form.cleaned_data.get("confirm_duplicate"),
            )
        except Conflict as exc:
            context["duplicates"] = _lead_duplicate_hits(request, exc)
            data = request.POST.copy()
            data["confirm_duplicate"] = "1"
            form = LeadForm(data, **kwargs)
            form.is_valid()
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            if lead.owner_id == actor.pk:
                messages.success(request, _("已创建线索「%s」") % lead.name)
            elif lead.owner is not None:
                messages.success(
                    request,
                    _("已创建线索「%(name)s」，已分配给 %(owner)s")
                    % {"name": lead.name, "owner": lead.owner.name},
                )
            else:
                messages.success(request, _("已创建线索「%s」，已进入线索池") % lead.name)
            if can(actor, "view", lead):
                return _done(request, lead)
            return redirect("lead_list")
    context["form"] = form
    return render(request, "leads/lead_form.html", _common(context), status=400)


def _lead_duplicate_hits(request: HttpRequest, exc: Conflict) -> list[dict[str, Any]]:
    if not exc.existing_id:
        return []
    try:
        existing = lead_get(actor=request.user, lead_id=exc.existing_id)
    except NotFound:
        return [{"visible": False, "message": exc.message}]
    return [
        {
            "visible": True,
            "id": existing.pk,
            "name": existing.name,
            "company": existing.company,
            "owner": existing.owner.name if existing.owner else _("线索池"),
            "status": existing.get_status_display(),
            "message": exc.message,
        }
    ]


@login_required
def lead_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    lead = _get_lead(actor, pk)
    if not can(actor, "edit", lead) or lead.status == LeadStatus.CONVERTED:
        messages.error(request, _("您可以查看该线索，但无权修改"))
        return _done(request, lead)
    defs = custom_field_defs("lead")
    kwargs: dict[str, Any] = {"creating": False, "custom_defs": defs, "states": _states(actor)}
    context: dict[str, Any] = {"creating": False, "lead": lead}
    if request.method != "POST":
        initial = LeadForm.initial_for(lead, present(actor, lead))
        initial.update(LeadForm.custom_initial(defs, lead.custom))
        context["form"] = LeadForm(initial=initial, **kwargs)
        return render(request, "leads/lead_form.html", _common(context))
    form = LeadForm(request.POST, **kwargs)
    if form.is_valid():
        try:
            lead_update(
                actor=actor,
                lead=lead,
                expected_version=form.cleaned_data.get("version"),
                data=form.lead_data(),
                custom=form.custom_values(),
            )
        except StaleVersion as exc:
            form.add_error(None, exc.message)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存"))
            return _done(request, lead)
    context["form"] = form
    return render(request, "leads/lead_form.html", _common(context), status=400)


# ----------------------------------------------------------------- detail and actions


@login_required
def lead_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    lead = _get_lead(actor, pk)
    values = present(actor, lead)
    entity = entity_get("lead")
    rows = []
    for name in DETAIL_FIELDS:
        if name not in values:
            continue
        spec = entity.field(name)
        rows.append({"name": name, "label": spec.label if spec else name, "value": values[name]})
    custom_rows = [
        {"label": d.label, "value": (lead.custom or {}).get(d.key)}
        for d in custom_field_defs("lead")
        if (lead.custom or {}).get(d.key) not in (None, "", [])
    ]
    can_edit = can(actor, "edit", lead)
    is_open = lead.is_open
    can_assign = lead_can_assign(actor) and is_open
    states = _states(actor)
    context = {
        "lead": lead,
        "values": values,
        "rows": rows,
        "custom_rows": custom_rows,
        "color": STATUS_COLORS.get(lead.status, "secondary"),
        "history": lead_history(actor=actor, lead=lead),
        "assignments": lead_assignments(lead=lead),
        "duplicates": lead_duplicates(actor=actor, lead=lead) if is_open else [],
        "can_edit": can_edit and lead.status != LeadStatus.CONVERTED,
        "can_status": can_edit and lead.status != LeadStatus.CONVERTED,
        "can_convert": can_edit and is_open,
        "can_claim": lead.owner_id is None and is_open and can(actor, "edit", Lead),
        "can_assign": can_assign and (lead.owner_id is None or can_edit),
        "can_release": can_edit and is_open and lead.owner_id is not None,
        "can_delete": can(actor, "delete", lead),
        "assign_form": AssignForm(users=lead_assignees(actor=actor)) if can_assign else None,
        "note_form": NoteForm(),
        "status_choices": [
            (k, v)
            for k, v in LeadStatus.choices
            if k not in (lead.status, LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED)
        ],
        "disqualify_reasons": config.DISQUALIFY_REASONS,
        "call_number": values.get("mobile")
        if values.get("mobile") and not states["mobile"]["masked"]
        else "",
    }
    return render(request, "leads/lead_detail.html", _common(context))


def _action(request: HttpRequest, pk: int, run: Any, success: str) -> HttpResponse:
    actor = request.user
    lead = _get_lead(actor, pk)
    try:
        run(actor, lead)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return _done(request, lead)


@login_required
@require_POST
def lead_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择状态"))
        return redirect("lead_detail", pk=pk)
    data = form.cleaned_data
    label = dict(LeadStatus.choices).get(data["status"], data["status"])
    return _action(
        request,
        pk,
        lambda actor, lead: lead_status_change(
            actor=actor,
            lead=lead,
            status=data["status"],
            reason=data["reason"],
            expected_version=data.get("version"),
        ),
        _("状态已改为「%s」") % label,
    )


@login_required
@require_POST
def lead_claim_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    lead = _get_lead(actor, pk)
    try:
        lead_claim(actor=actor, lead=lead)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        back = request.POST.get("next") or ""
        if back.startswith("/") and not back.startswith("//"):
            return redirect(back)
    else:
        messages.success(request, _("已领取「%s」，现在由您负责") % lead.name)
    return _done(request, lead)


@login_required
@require_POST
def lead_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    form = AssignForm(
        request.POST, users=lead_assignees(actor=actor, include=request.POST.get("owner"))
    )
    if not form.is_valid():
        messages.error(request, _("请选择负责人"))
        return redirect("lead_detail", pk=pk)
    user = form.cleaned_data["owner"]
    return _action(
        request,
        pk,
        lambda a, lead: lead_assign(
            actor=a, lead=lead, user=user, reason=form.cleaned_data["reason"]
        ),
        _("已分配给 %s") % user.name,
    )


@login_required
@require_POST
def lead_release_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写退回线索池的原因"))
        return redirect("lead_detail", pk=pk)
    return _action(
        request,
        pk,
        lambda a, lead: lead_release(actor=a, lead=lead, reason=form.cleaned_data["reason"]),
        _("已退回线索池"),
    )


@login_required
@require_POST
def lead_note_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写备注内容（不超过 2000 字）"))
        return redirect("lead_detail", pk=pk)
    return _action(
        request,
        pk,
        lambda a, lead: lead_note_add(actor=a, lead=lead, text=form.cleaned_data["text"]),
        _("已添加备注"),
    )


@login_required
@require_POST
def lead_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    lead = _get_lead(actor, pk)
    try:
        lead_delete(actor=actor, lead=lead)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return _done(request, lead)
    messages.success(request, _("已把线索「%s」删除到回收站，可在回收站恢复") % lead.name)
    return redirect("lead_list")


# ----------------------------------------------------------------- conversion


def _convert_initial(actor: Any, lead: Lead) -> dict[str, Any]:
    from crm.customers.normalize import phone_display

    customer = lead_customer_defaults(lead)
    contact = lead_contact_defaults(lead)
    return {
        "customer_mode": "new",
        "customer_name": customer["name"],
        "customer_industry": customer["industry"],
        "customer_province": customer["province"],
        "customer_city": customer["city"],
        "contact_mode": "new",
        "contact_name": contact["name"],
        "contact_title": contact["title"],
        "contact_mobile": phone_display(contact["mobile"]) if contact["mobile"] else "",
        "contact_email": contact["email"],
        "opp_name": _("%(company)s 新商机") % {"company": lead.company or lead.name},
        "version": lead.version,
    }


@login_required
def lead_convert_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    lead = _get_lead(actor, pk)
    if lead.status == LeadStatus.CONVERTED:
        messages.info(request, _("该线索已转化，不能重复转化"))
        return _done(request, lead)
    if not can(actor, "edit", lead) or not lead.is_open:
        messages.error(request, _("只有负责人可以转化未关闭的线索"))
        return _done(request, lead)
    pipelines = convert_pipelines()
    context: dict[str, Any] = {"lead": lead, "can_opportunity": can(actor, "create", "opportunity")}
    from crm.leads.selectors import lead_customer_suggestions

    context["suggestions"] = lead_customer_suggestions(actor=actor, lead=lead)
    if request.method != "POST":
        initial = _convert_initial(actor, lead)
        default = next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)
        initial["opp_pipeline"] = default.pk if default else None
        form = ConvertForm(initial=initial, pipelines=pipelines)
        context["form"] = form
        return render(request, "leads/lead_convert.html", _common(context))
    post = request.POST.copy()
    if post.get("link_existing"):
        # "Link to this customer" on the registration hit: the same form, pointed at it.
        post["customer_mode"] = "link"
        post["customer_id"] = str(post.get("link_existing") or "")
    form = ConvertForm(post, pipelines=pipelines)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            customer = (
                convert_customer_get(actor=actor, customer_id=data["customer_id"])
                if data["customer_mode"] == "link"
                else None
            )
            contact = (
                convert_contact_get(actor=actor, contact_id=data["contact_id"])
                if data["contact_mode"] == "link"
                else None
            )
            result = lead_convert(
                actor=actor,
                lead=lead,
                customer=customer,
                customer_data=form.customer_data() if customer is None else None,
                contact=contact,
                contact_data=form.contact_data(),
                create_contact=data["contact_mode"] != "none",
                opportunity_data=form.opportunity_data(),
                expected_version=data.get("version"),
            )
        except Conflict as exc:
            if exc.field == "status":
                messages.info(request, exc.message)
                return _done(request, lead)
            context["duplicate"] = _customer_hit(request, exc)
            if context["duplicate"] is None:
                form.add_domain_error(exc)
            status = 409
        except NotFound:
            form.add_error(None, _("所选客户或联系人不存在或您无权查看"))
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request, _("已转化为客户「%s」，线索的记录已转入客户动态") % result.customer.name
            )
            if result.opportunity is not None:
                messages.info(request, _("已创建商机「%s」") % result.opportunity.name)
            return redirect("customer_detail", pk=result.customer.pk)
    context["form"] = form
    chosen = post.get("customer_id") if post.get("customer_mode") == "link" else None
    if chosen:
        context["chosen"] = chosen
        context["contacts"] = convert_contacts(actor=actor, customer_id=chosen)
        try:
            picked = convert_customer_get(actor=actor, customer_id=chosen)
        except (NotFound, ValidationFailed):
            picked = None
        if picked is not None and all(c.pk != picked.pk for c in context["suggestions"]):
            context["suggestions"] = [picked, *context["suggestions"]]
    return render(request, "leads/lead_convert.html", _common(context), status=status)


def _customer_hit(request: HttpRequest, exc: Conflict) -> dict[str, Any] | None:
    if not exc.existing_id:
        return None
    try:
        info = customer_duplicate_info(actor=request.user, customer_id=exc.existing_id)
    except NotFound:
        return None
    info["message"] = exc.message
    return info


@login_required
def lead_convert_customers_view(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: customers to link the lead to (suggestions, or a search)."""
    from crm.leads.selectors import lead_customer_suggestions

    actor = request.user
    lead = _get_lead(actor, pk)
    q = str(request.GET.get("q") or "")[:100]
    try:
        customers = lead_customer_suggestions(actor=actor, lead=lead, q=q)
    except DomainError:
        customers = []
    return render(
        request,
        "leads/_convert_customers.html",
        {"lead": lead, "suggestions": customers, "q": q, "searched": bool(q)},
    )


@login_required
def lead_convert_contacts_view(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the chosen customer's contacts (for "link existing contact")."""
    actor = request.user
    lead = _get_lead(actor, pk)
    contacts = convert_contacts(actor=actor, customer_id=request.GET.get("customer_id"))
    return render(request, "leads/_convert_contacts.html", {"lead": lead, "contacts": contacts})


# ----------------------------------------------------------------- public web form


def _frame_csp(form: Any) -> str:
    origins = " ".join(form.embed_origins.split()) if form.embed_origins else "*"
    return CSP.replace("frame-ancestors 'none'", f"frame-ancestors 'self' {origins}")


def _public(response: HttpResponse, form: Any) -> HttpResponse:
    response["Content-Security-Policy"] = _frame_csp(form)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # embedded on other sites: no CSRF cookie there; honeypot + rate limit instead
@xframe_options_exempt
def capture_form_view(request: HttpRequest, key: str) -> HttpResponse:
    """The public, embeddable web form. Anyone may post; a lead is created by the system."""
    try:
        form_def = capture_form_public(key=key)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context: dict[str, Any] = {"capture": form_def, "provinces": PROVINCES}
    if request.method != "POST":
        context["form"] = PublicLeadForm(shown=form_def.fields)
        return _public(render(request, "leads/public/capture.html", context), form_def)
    form = PublicLeadForm(request.POST, shown=form_def.fields)
    status = 400
    if form.is_valid():
        try:
            capture_submit(form=form_def, data=form.cleaned_data, ip=client_ip(request))
        except TooManySubmissions as exc:
            form.add_error(None, exc.message)
            status = 429
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            for err in exc.errors or [{"field": "", "message": exc.message}]:
                name = err.get("field") or ""
                form.add_error(name if name in form.fields else None, err.get("message") or "")
        else:
            return redirect("capture_thanks", key=form_def.key)
    elif str(request.POST.get("website") or "").strip():
        # A bot that also broke another field: it gets the same answer as a person.
        return redirect("capture_thanks", key=form_def.key)
    context["form"] = form
    return _public(render(request, "leads/public/capture.html", context, status=status), form_def)


@xframe_options_exempt
def capture_thanks_view(request: HttpRequest, key: str) -> HttpResponse:
    try:
        form_def = capture_form_public(key=key)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return _public(render(request, "leads/public/thanks.html", {"capture": form_def}), form_def)
