"""Opportunity pages: list, kanban, detail, forms, the move dialog, the customer fragment,
and the pipeline administration. Thin: parse input, call one selector or service, render.

The move endpoint serves the form, the detail page's stage bar and the kanban's
drag-and-drop alike: it calls `opportunity_move`, whose refusal (the missing fields and
checklist items) becomes a small form; submitting it calls the same service again.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access.fieldsec import field_state, present
from crm.access.registry import entity_get
from crm.access.selectors import department_tree, user_choices
from crm.access.visibility import can, is_admin
from crm.core.errors import DomainError, NotFound, StaleVersion, ValidationFailed
from crm.core.pagination import Page
from crm.core.viewutils import fragment_target, get_or_404, redirect_htmx
from crm.customfields.models import CustomFieldType
from crm.customfields.services import custom_field_defs
from crm.opportunities import selectors, services
from crm.opportunities.forms import (
    LOST_REASONS,
    ROLE_SUGGESTIONS,
    ContactRoleForm,
    MoveForm,
    OpportunityFilterForm,
    OpportunityForm,
    PipelineForm,
    StageForm,
)
from crm.opportunities.models import Opportunity, OpportunityStatus, Pipeline, StageKind

PAGE_SIZE = 25
SOURCES = ["线索转化", "老客户推荐", "展会", "官网咨询", "电话营销", "合作伙伴"]
# Kanban filters a move keeps (the board re-aggregates its columns with them).
BOARD_KEYS = ("owner", "department", "q")


# ----------------------------------------------------------------- helpers


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", None))


def _states(actor: Any) -> dict[str, dict[str, bool]]:
    entity = entity_get("opportunity")
    return {f.name: field_state(actor, entity, f.name) for f in entity.fields}


def _url_or_none(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _custom_display(d: Any, value: Any) -> str:
    if value in (None, "", []):
        return ""
    if d.type == CustomFieldType.BOOLEAN:
        return str(_("是")) if value else str(_("否"))
    if d.type == CustomFieldType.MULTICHOICE and isinstance(value, list):
        return "、".join(str(v) for v in value)
    if d.type == CustomFieldType.MONEY:
        try:
            return f"¥{float(value):,.2f}"
        except (TypeError, ValueError):
            return str(value)
    if d.type == CustomFieldType.NUMBER and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _filter_form(request: HttpRequest, pipelines: list[Pipeline]) -> OpportunityFilterForm:
    actor = request.user
    data = request.GET if any(k != "cursor" for k in request.GET) else None
    return OpportunityFilterForm(
        data,
        pipelines=pipelines,
        users=selectors.owner_shortlist(actor=actor, include=request.GET.get("owner")),
        departments=department_tree(actor=actor),
    )


# ----------------------------------------------------------------- list


def opportunity_rows(actor: Any, opps: list[Opportunity]) -> list[dict[str, Any]]:
    return [{"obj": o, "values": present(actor, o)} for o in opps]


@login_required
@vary_on_headers("HX-Request")
def opportunity_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", Opportunity):
        raise Http404()
    pipelines = selectors.pipelines_with_stages(actor=actor)
    form = _filter_form(request, pipelines)
    filters = form.filters()
    target = fragment_target(request)
    amount_state = field_state(actor, entity_get("opportunity"), "amount")
    if target == "opp-totals":
        # The totals sum every visible row (a manager's ~340,000 at 1M opportunities: about a
        # second on SQLite), so the page shows its rows first and asks for them afterwards.
        try:
            summed = selectors.opportunity_totals(actor=actor, filters=filters)
        except DomainError:
            summed = selectors.Totals()
        return render(
            request,
            "opportunities/_opportunity_totals.html",
            {"totals": summed, "amount_state": amount_state},
        )
    # None: the page asks for its totals in a second request (above).
    totals: selectors.Totals | None = None
    try:
        page = selectors.opportunity_list(
            actor=actor, filters=filters, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        page, totals = Page(items=[], next=None), selectors.Totals()
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "rows": opportunity_rows(actor, page.items),
        "totals": totals,
        "filtered": bool(form.active_count() or filters.get("q")),
        "can_create": can(actor, "create", Opportunity),
        "amount_state": amount_state,
        "nav_current": "opportunity_kanban",
    }
    if target == "opp-more":
        return render(request, "opportunities/_opportunity_rows.html", context)
    if target == "opp-results":
        return render(request, "opportunities/_opportunity_results.html", context)
    return render(request, "opportunities/opportunity_list.html", context)


# ----------------------------------------------------------------- kanban


def _board_filters(request: HttpRequest, source: QueryDict) -> dict[str, Any]:
    return {k: source.get(k) for k in BOARD_KEYS if source.get(k)}


def _board_context(request: HttpRequest, pipeline: Pipeline, filters: dict[str, Any]) -> dict:
    actor = request.user
    board = selectors.kanban(actor, pipeline, filters)
    selectors.kanban_cards_present(actor, board)
    card_ids = [c.pk for col in board.columns for c in col.cards]
    return {
        "board": board,
        "pipeline": pipeline,
        "amount_state": field_state(actor, entity_get("opportunity"), "amount"),
        "editable_ids": selectors.editable_ids(actor=actor, ids=card_ids),
        "board_query": urlencode(filters),
        "list_url": reverse("opportunity_list"),
    }


@login_required
@vary_on_headers("HX-Request")
def opportunity_kanban_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", Opportunity):
        raise Http404()
    pipeline = get_or_404(
        selectors.pipeline_for, actor=actor, pipeline_id=request.GET.get("pipeline")
    )
    pipelines = selectors.pipeline_list(actor=actor)
    form = _filter_form(request, pipelines)
    filters = {k: v for k, v in form.filters().items() if k in BOARD_KEYS}
    try:
        context = _board_context(request, pipeline, filters)
    except DomainError as exc:
        messages.error(request, exc.message)
        context = _board_context(request, pipeline, {})
    context.update({"form": form, "pipelines": pipelines, "filtered": bool(filters)})
    if fragment_target(request) == "kanban-board":
        return render(request, "opportunities/_kanban_board.html", context)
    context["can_create"] = can(actor, "create", Opportunity)
    return render(request, "opportunities/opportunity_kanban.html", context)


# ----------------------------------------------------------------- detail


def _progress(opp: Opportunity, stages: list[Any]) -> list[dict[str, Any]]:
    """The stage bar: each stage with its state (done / current / ahead) and checklist."""
    rank = {s.pk: i for i, s in enumerate(stages)}
    here = rank.get(opp.stage_id, -1)
    done_map = opp.checklist_done or {}
    out = []
    for i, s in enumerate(stages):
        ticked = set(done_map.get(str(s.pk)) or [])
        if s.kind == StageKind.LOST:
            state = "lost" if s.pk == opp.stage_id else "closed"
        elif s.pk == opp.stage_id:
            state = "current"
        elif opp.status == OpportunityStatus.LOST:
            state = "ahead"
        else:
            state = "done" if i < here else "ahead"
        out.append(
            {
                "stage": s,
                "state": state,
                "items": [
                    {"index": j, "text": t, "done": j in ticked}
                    for j, t in enumerate(s.checklist or [])
                ],
            }
        )
    return out


def _detail_context(request: HttpRequest, opp: Opportunity) -> dict[str, Any]:
    actor = request.user
    stages = selectors.stage_list(actor=actor, pipeline=opp.pipeline)
    defs = custom_field_defs("opportunity")
    custom = opp.custom or {}
    can_edit = can(actor, "edit", opp)
    contacts = selectors.opportunity_contacts(actor=actor, opportunity=opp)
    choices = selectors.opportunity_contact_choices(actor=actor, opportunity=opp)
    in_deal = {c["contact"].pk for c in contacts}
    return {
        "nav_current": "opportunity_kanban",
        "opp": opp,
        "values": present(actor, opp),
        "customer_name": present(actor, opp.customer, ["name"]).get("name"),
        "progress": _progress(opp, stages),
        "days_in_stage": max(0, (timezone.now() - opp.stage_entered_at).days),
        "history": selectors.stage_history(actor=actor, opportunity=opp),
        "contacts": contacts,
        "contact_form": ContactRoleForm(
            contacts=[_Choice(c) for c in choices if c["id"] not in in_deal]
        )
        if can_edit
        else None,
        "custom_rows": [
            {"label": d.label, "value": _custom_display(d, custom.get(d.key))} for d in defs
        ],
        "can_edit": can_edit,
        "can_delete": can(actor, "delete", opp),
        "role_suggestions": ROLE_SUGGESTIONS,
        "products_url": _url_or_none("opportunity_products", opp.pk),
        "quotes_url": _url_or_none("opportunity_quotes", opp.pk),
        "contracts_url": _url_or_none("opportunity_contracts", opp.pk),
    }


class _Choice:
    """A contact offered in a picker (id, name, title) without loading it again."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.pk = row["id"]
        self.name = row.get("name") or ""
        self.title = row.get("title") or ""


@login_required
def opportunity_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    opp = get_or_404(selectors.opportunity_get, actor=request.user, opportunity_id=pk)
    context = _detail_context(request, opp)
    if fragment_target(request) == "opp-progress":
        return render(request, "opportunities/_progress.html", context)
    return render(request, "opportunities/opportunity_detail.html", context)


# ----------------------------------------------------------------- create / edit


def _form(
    request: HttpRequest,
    *,
    creating: bool,
    data: Any = None,
    initial: Any = None,
    owner: Any = None,
) -> OpportunityForm:
    actor = request.user
    defs = custom_field_defs("opportunity")
    has_user_field = any(d.type == CustomFieldType.USER for d in defs)
    form = OpportunityForm(
        data,
        initial=initial,
        creating=creating,
        pipelines=selectors.pipelines_with_stages(actor=actor) if creating else [],
        owners=selectors.owner_shortlist(
            actor=actor, include=getattr(owner, "pk", None) or (data or {}).get("owner")
        ),
        custom_defs=defs,
        users=user_choices(actor=actor) if has_user_field else [],
        states=_states(actor),
    )
    return form


@login_required
def opportunity_create_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "create", Opportunity):
        raise Http404()
    customer = None
    customer_id = request.POST.get("customer") or request.GET.get("customer")
    if customer_id:
        try:
            customer = selectors.customer_for_opportunity(actor=actor, customer_id=customer_id)
        except NotFound:
            customer = None
    context: dict[str, Any] = {
        "creating": True,
        "sources": SOURCES,
        "nav_current": "opportunity_kanban",
    }
    if request.method != "POST":
        initial = {
            "customer": customer.pk if customer else None,
            "currency": "CNY",
            "owner": str(actor.pk),
            "forecast_category": "pipeline",
            "name": (request.GET.get("name") or "")[:200],
        }
        pipeline = selectors.pipeline_for(actor=actor)
        initial["pipeline"] = str(pipeline.pk)
        context.update(
            {"form": _form(request, creating=True, initial=initial), "customer": customer}
        )
        return render(request, "opportunities/opportunity_form.html", context)
    form = _form(request, creating=True, data=request.POST)
    if form.is_valid():
        if customer is None:
            form.add_error("customer", _("请选择客户"))
        else:
            try:
                opp = services.opportunity_create(
                    actor=actor,
                    customer=customer,
                    data=form.data_for_service(),
                    owner=form.cleaned_data.get("owner") if "owner" in form.fields else None,
                    custom=form.custom_values(),
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("已创建商机「%s」") % opp.name)
                return redirect("opportunity_detail", pk=opp.pk)
    context.update({"form": form, "customer": customer})
    return render(request, "opportunities/opportunity_form.html", context, status=400)


@login_required
def opportunity_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    opp = get_or_404(selectors.opportunity_get, actor=actor, opportunity_id=pk)
    if not can(actor, "edit", opp):
        raise Http404()
    defs = custom_field_defs("opportunity")
    context: dict[str, Any] = {
        "creating": False,
        "opp": opp,
        "sources": SOURCES,
        "nav_current": "opportunity_kanban",
    }
    if request.method != "POST":
        initial = {
            "name": opp.name,
            "amount": f"{opp.amount:.2f}",
            "currency": opp.currency,
            "expected_close_date": opp.expected_close_date.isoformat()
            if opp.expected_close_date
            else "",
            "probability": opp.probability if opp.probability_manual else None,
            "forecast_category": opp.forecast_category,
            "competitors": opp.competitors,
            "source": opp.source,
            "notes": opp.notes,
            "owner": str(opp.owner_id),
            "version": opp.version,
            **OpportunityForm.custom_initial(defs, opp.custom),
        }
        context["form"] = _form(request, creating=False, initial=initial, owner=opp.owner)
        return render(request, "opportunities/opportunity_form.html", context)
    form = _form(request, creating=False, data=request.POST, owner=opp.owner)
    if form.is_valid():
        owner = form.cleaned_data.get("owner") if "owner" in form.fields else None
        try:
            services.opportunity_update(
                actor=actor,
                opportunity=opp,
                expected_version=form.cleaned_data.get("version"),
                data=form.data_for_service(),
                custom=form.custom_values(),
                owner=owner if owner is not None and owner.pk != opp.owner_id else None,
            )
        except StaleVersion as exc:
            form.add_error(None, exc.message)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("opportunity_detail", pk=opp.pk)
    context["form"] = form
    return render(request, "opportunities/opportunity_form.html", context, status=400)


@login_required
@require_POST
def opportunity_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    opp = get_or_404(selectors.opportunity_get, actor=actor, opportunity_id=pk)
    try:
        services.opportunity_delete(actor=actor, opportunity=opp)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("opportunity_detail", pk=pk)
    messages.success(request, _("已把商机「%s」删除到回收站，可在回收站恢复") % opp.name)
    return redirect("opportunity_list")


# ----------------------------------------------------------------- move


def _move_form(
    actor: Any,
    opp: Opportunity,
    target: Any,
    missing: list[Any],
    data: Any = None,
) -> MoveForm:
    contacts = [
        _Choice(c) for c in selectors.opportunity_contact_choices(actor=actor, opportunity=opp)
    ]
    items = {
        m.field: f"{m.stage.name}：{m.label}" for m in missing if m.field.startswith("checklist.")
    }
    form = MoveForm(
        data,
        initial={"stage": target.pk, "version": opp.version},
        missing=[m.field for m in missing],
        labels={m.field: m.label for m in missing},
        items=items,
        custom_defs=custom_field_defs("opportunity"),
        contacts=contacts,
    )
    return form


def _move_context(
    request: HttpRequest, opp: Opportunity, target: Any, form: MoveForm, missing: list[Any]
) -> dict[str, Any]:
    ctx = "kanban" if (request.POST.get("ctx") or request.GET.get("ctx")) == "kanban" else "detail"
    board = request.POST.get("board") or request.GET.get("board") or ""
    return {
        "opp": opp,
        "target": target,
        "form": form,
        "missing": missing,
        "missing_messages": [str(m.message) for m in missing],
        "ctx": ctx,
        "board": board,
        "lost_reasons": LOST_REASONS,
        "role_suggestions": ROLE_SUGGESTIONS,
        "stages": selectors.stage_list(actor=request.user, pipeline=opp.pipeline),
    }


def _render_move(
    request: HttpRequest, context: dict[str, Any], *, refused: bool, status: int = 422
) -> HttpResponse:
    if _is_htmx(request):
        # htmx swaps only 2xx answers: the refusal is a 200 with an event for the board
        # (put the card back, open the dialog).
        response = render(request, "opportunities/_move_form.html", context)
        if refused:
            response["HX-Trigger"] = json.dumps(
                {"opportunityMoveRefused": {"id": context["opp"].pk}}
            )
        return response
    return render(request, "opportunities/opportunity_move.html", context, status=status)


@login_required
def opportunity_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    opp = get_or_404(selectors.opportunity_get, actor=actor, opportunity_id=pk)
    if not can(actor, "edit", opp):
        raise Http404()
    stage_id = request.POST.get("stage") or request.GET.get("stage")
    if not stage_id:
        # No stage chosen yet (the card's "移动" button on a phone): offer the stages.
        context = _move_context(request, opp, None, MoveForm(), [])
        if _is_htmx(request):
            return render(request, "opportunities/_move_form.html", context)
        return render(request, "opportunities/opportunity_move.html", context)
    try:
        target, missing = services.opportunity_move_missing(opportunity=opp, stage=stage_id)
    except ValidationFailed as exc:
        if _is_htmx(request):
            return _move_error(request, opp, exc.message)
        messages.error(request, exc.message)
        return redirect("opportunity_detail", pk=pk)
    if request.method != "POST":
        form = _move_form(actor, opp, target, missing)
        return _render_move(
            request, _move_context(request, opp, target, form, missing), refused=False, status=200
        )
    form = _move_form(actor, opp, target, missing, data=request.POST)
    if not form.is_valid():
        return _render_move(
            request, _move_context(request, opp, target, form, missing), refused=True
        )
    version = form.cleaned_data.get("version")
    try:
        services.opportunity_move(
            actor=actor,
            opportunity=opp,
            stage=target,
            expected_version=version,
            **form.service_kwargs(),
        )
    except ValidationFailed as exc:
        # Still missing something: the form again, with what is missing now.
        fresh = get_or_404(selectors.opportunity_get, actor=actor, opportunity_id=pk)
        _t, now_missing = services.opportunity_move_missing(opportunity=fresh, stage=target.pk)
        fields = {m.field for m in now_missing} | {e.get("field") for e in exc.errors}
        keep = [m for m in now_missing if m.field in fields]
        form = _move_form(actor, fresh, target, keep, data=request.POST)
        form.is_valid()
        form.add_domain_error(exc)
        return _render_move(
            request, _move_context(request, fresh, target, form, keep), refused=True
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _render_move(
            request,
            _move_context(request, opp, target, form, missing),
            refused=True,
            status=exc.status,
        )
    return _moved(request, opp, target)


def _move_error(request: HttpRequest, opp: Opportunity, message: str) -> HttpResponse:
    response = render(
        request,
        "opportunities/_move_error.html",
        {"opp": opp, "message": message},
    )
    response["HX-Trigger"] = json.dumps({"opportunityMoveRefused": {"id": opp.pk}})
    return response


def _moved(request: HttpRequest, opp: Opportunity, target: Any) -> HttpResponse:
    actor = request.user
    ctx = request.POST.get("ctx")
    if ctx == "kanban" and _is_htmx(request):
        filters = dict(parse_qsl(request.POST.get("board") or ""))
        filters = {k: v for k, v in filters.items() if k in BOARD_KEYS}
        try:
            context = _board_context(request, opp.pipeline, filters)
        except DomainError:
            context = _board_context(request, opp.pipeline, {})
        fresh = selectors.opportunity_get(actor=actor, opportunity_id=opp.pk)
        card = next(
            (c for col in context["board"].columns for c in col.cards if c.pk == opp.pk), None
        )
        context.update({"opp": fresh, "target": target, "card": card, "cards": [card]})
        response = render(request, "opportunities/_kanban_moved.html", context)
        response["HX-Trigger"] = json.dumps(
            {"opportunityMoved": {"id": opp.pk, "stage": target.pk}}
        )
        return response
    messages.success(request, _("已移到「%s」") % target.name)
    return redirect_htmx(request, reverse("opportunity_detail", args=[opp.pk]))


# ----------------------------------------------------------------- checklist and contacts


@login_required
@require_POST
def opportunity_checklist_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    opp = get_or_404(selectors.opportunity_get, actor=actor, opportunity_id=pk)
    try:
        services.opportunity_checklist_tick(
            actor=actor,
            opportunity=opp,
            stage=request.POST.get("stage"),
            index=int(request.POST.get("index") or -1),
            done=request.POST.get("done") == "1",
        )
    except (DomainError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    if _is_htmx(request):
        opp = selectors.opportunity_get(actor=actor, opportunity_id=pk)
        return render(request, "opportunities/_progress.html", _detail_context(request, opp))
    return redirect("opportunity_detail", pk=pk)


@login_required
@require_POST
def opportunity_contact_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    opp = get_or_404(selectors.opportunity_get, actor=actor, opportunity_id=pk)
    choices = [
        _Choice(c) for c in selectors.opportunity_contact_choices(actor=actor, opportunity=opp)
    ]
    form = ContactRoleForm(request.POST, contacts=choices)
    if form.is_valid():
        try:
            contact = selectors.contact_for_opportunity(
                actor=actor, contact_id=form.cleaned_data["contact"].pk
            )
            services.opportunity_contact_set(
                actor=actor, opportunity=opp, contact=contact, role=form.cleaned_data["role"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已添加联系人"))
    else:
        messages.error(request, _("请选择联系人"))
    return redirect(reverse("opportunity_detail", args=[pk]) + "#contacts")


@login_required
@require_POST
def opportunity_contact_remove_view(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    actor = request.user
    opp = get_or_404(selectors.opportunity_get, actor=actor, opportunity_id=pk)
    try:
        services.opportunity_contact_remove(actor=actor, opportunity=opp, contact_id=contact_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已移除联系人"))
    return redirect(reverse("opportunity_detail", args=[pk]) + "#contacts")


# ----------------------------------------------------------------- pickers and fragments


@login_required
def customer_pick_view(request: HttpRequest) -> HttpResponse:
    """Type-ahead of the customer picker (an htmx fragment of buttons)."""
    actor = request.user
    q = (request.GET.get("customer_q") or request.GET.get("q") or "").strip()[:100]
    hits = selectors.customer_pick(actor=actor, q=q) if q else []
    return render(request, "opportunities/_customer_pick.html", {"hits": hits, "q": q})


@login_required
def customer_opportunities_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The 销售 section of the customer 360 page: the customer's opportunities."""
    actor = request.user
    customer = get_or_404(selectors.customer_for_opportunity, actor=actor, customer_id=pk)
    if not can(actor, "view", Opportunity):
        return HttpResponse("")
    opps = selectors.customer_opportunities(actor=actor, customer=customer)
    return render(
        request,
        "opportunities/_customer_opportunities.html",
        {
            "customer": customer,
            "rows": opportunity_rows(actor, opps),
            "totals": selectors.customer_opportunity_totals(actor=actor, customer=customer),
            "can_create": can(actor, "create", Opportunity),
            "amount_state": field_state(actor, entity_get("opportunity"), "amount"),
        },
    )


# ----------------------------------------------------------------- pipelines (administrators)


def _admin_or_404(request: HttpRequest) -> None:
    if not is_admin(request.user):
        raise Http404()


@login_required
def pipeline_admin_list_view(request: HttpRequest) -> HttpResponse:
    _admin_or_404(request)
    pipelines = selectors.pipelines_with_stages(actor=request.user, include_inactive=True)
    labels = dict(selectors.requirable_choices())
    return render(
        request,
        "opportunities/pipeline_list.html",
        {"pipelines": pipelines, "labels": labels},
    )


@login_required
def pipeline_admin_create_view(request: HttpRequest) -> HttpResponse:
    _admin_or_404(request)
    form = PipelineForm(request.POST or None, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = services.pipeline_create(actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已创建销售流程「%s」，接着添加它的阶段") % pipeline.name)
            return redirect("pipeline_admin_edit", pk=pipeline.pk)
    return render(
        request,
        "opportunities/pipeline_form.html",
        {"form": form, "pipeline": None},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def pipeline_admin_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_or_404(request)
    actor = request.user
    pipeline = get_or_404(selectors.pipeline_get, actor=actor, pipeline_id=pk)
    initial = {
        "name": pipeline.name,
        "description": pipeline.description,
        "is_default": pipeline.is_default,
        "is_active": pipeline.is_active,
    }
    form = PipelineForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.pipeline_update(actor=actor, pipeline=pipeline, data=form.cleaned_data)
            except DomainError as exc:
                form.add_domain_error(exc)
                status = 400
            else:
                messages.success(request, _("已保存"))
                return redirect("pipeline_admin_edit", pk=pk)
        else:
            status = 400
    stages = selectors.stage_list(actor=actor, pipeline=pipeline, include_inactive=True)
    return render(
        request,
        "opportunities/pipeline_form.html",
        {
            "form": form,
            "pipeline": pipeline,
            "stages": stages,
            "labels": dict(selectors.requirable_choices()),
            "stage_form": StageForm(
                initial={"kind": "open", "probability": 50, "is_active": True},
                requirable=selectors.requirable_choices(),
            ),
        },
        status=status,
    )


@login_required
def stage_admin_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_or_404(request)
    actor = request.user
    pipeline = get_or_404(selectors.pipeline_get, actor=actor, pipeline_id=pk)
    form = StageForm(request.POST or None, requirable=selectors.requirable_choices())
    if request.method == "POST" and form.is_valid():
        try:
            # A new open stage lands after the other open ones (won/lost always rank last).
            stage = services.stage_create(
                actor=actor, pipeline=pipeline, data=form.data_for_service()
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已添加阶段「%s」") % stage.name)
            return redirect("pipeline_admin_edit", pk=pk)
    return render(
        request,
        "opportunities/stage_form.html",
        {"form": form, "pipeline": pipeline, "stage": None},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def stage_admin_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_or_404(request)
    actor = request.user
    stage = get_or_404(selectors.stage_get, actor=actor, stage_id=pk)
    initial = {
        "name": stage.name,
        "kind": stage.kind,
        "probability": stage.probability,
        "time_limit_days": stage.time_limit_days,
        "required_fields": list(stage.required_fields or []),
        "checklist": "\n".join(stage.checklist or []),
        "is_active": stage.is_active,
    }
    form = StageForm(
        request.POST or None, initial=initial, requirable=selectors.requirable_choices()
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_update(actor=actor, stage=stage, data=form.data_for_service())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存阶段「%s」") % stage.name)
            return redirect("pipeline_admin_edit", pk=stage.pipeline_id)
    return render(
        request,
        "opportunities/stage_form.html",
        {"form": form, "pipeline": stage.pipeline, "stage": stage},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def stage_admin_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a stage one place up or down within its pipeline."""
    _admin_or_404(request)
    actor = request.user
    stage = get_or_404(selectors.stage_get, actor=actor, stage_id=pk)
    stages = selectors.stage_list(actor=actor, pipeline=stage.pipeline, include_inactive=True)
    ids = [s.pk for s in stages]
    i = ids.index(stage.pk)
    j = i - 1 if request.POST.get("direction") == "up" else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
        try:
            services.stage_reorder(actor=actor, pipeline=stage.pipeline, stage_ids=ids)
        except DomainError as exc:
            messages.error(request, exc.message)
    return redirect("pipeline_admin_edit", pk=stage.pipeline_id)


@login_required
@require_POST
def stage_admin_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_or_404(request)
    actor = request.user
    stage = get_or_404(selectors.stage_get, actor=actor, stage_id=pk)
    pipeline_id = stage.pipeline_id
    try:
        services.stage_delete(actor=actor, stage=stage)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已删除阶段"))
    return redirect("pipeline_admin_edit", pk=pipeline_id)
