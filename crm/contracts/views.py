"""Contract and payment pages (htmx, phone first): thin, over services and selectors.

A record outside the actor's scope is a 404; a domain error is shown next to its field and
nothing the user typed is lost. Money is shown only as the selectors present it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access.fieldsec import field_state, reveal
from crm.access.registry import entity_get
from crm.access.visibility import can, is_admin
from crm.contracts import config, policies
from crm.contracts.forms import (
    AttachmentForm,
    ContractFilterForm,
    ContractForm,
    ContractSettingsForm,
    PaymentForm,
    PlanGenerateForm,
    TransitionForm,
    plan_rows_from_post,
)
from crm.contracts.models import Contract, Payment
from crm.contracts.selectors import (
    INSTALMENT_VIEWS,
    attachment_get,
    contract_detail,
    contract_get,
    contract_list,
    contract_owner_choices,
    contract_plans,
    contract_rows,
    contract_totals,
    customer_contracts,
    customer_for_contract,
    instalment_list,
    instalment_rows,
    money_access,
    opportunity_contracts,
    opportunity_for_contract,
    payment_get,
    payment_list,
    payment_rows,
    quote_for_contract,
    receivable_summary,
)
from crm.contracts.services import (
    attachment_add,
    attachment_delete,
    contract_create,
    contract_delete,
    contract_from_opportunity,
    contract_from_opportunity_check,
    contract_from_quote,
    contract_from_quote_check,
    contract_plan_generate,
    contract_plan_set,
    contract_prefill_from_opportunity,
    contract_prefill_from_quote,
    contract_settings_update,
    contract_transition,
    contract_update,
    money,
    payment_create,
    payment_delete,
)
from crm.core.config import setting_version
from crm.core.errors import DomainError, NotFound, StaleVersion
from crm.core.pagination import Page
from crm.core.viewutils import fragment_target, get_or_404, safe_next

PAGE_SIZE = 25


# ----------------------------------------------------------------- helpers


def _states(actor: Any, entity_key: str) -> dict[str, dict[str, bool]]:
    entity = entity_get(entity_key)
    return {f.name: field_state(actor, entity, f.name) for f in entity.fields}


def _detail_url(contract: Contract, anchor: str = "") -> str:
    url = reverse("contract_detail", args=[contract.pk])
    return f"{url}#{anchor}" if anchor else url


# ----------------------------------------------------------------- list


@login_required
@vary_on_headers("HX-Request")
def contract_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", Contract):
        raise Http404()
    bound = any(k != "cursor" for k in request.GET)
    form = ContractFilterForm(
        request.GET if bound else None,
        users=contract_owner_choices(actor=actor, include=request.GET.get("owner")),
    )
    filters = form.filters()
    cursor = request.GET.get("cursor") or None
    totals = None
    try:
        page = contract_list(actor=actor, filters=filters, cursor=cursor, limit=PAGE_SIZE)
        if not cursor:
            totals = contract_totals(actor=actor, filters=filters)
    except DomainError as exc:
        messages.error(request, exc.message)
        page = Page(items=[], next=None)
    customer_name = ""
    if filters.get("customer"):
        try:
            customer_name = customer_for_contract(actor=actor, customer_id=filters["customer"]).name
        except NotFound:
            customer_name = "—"
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "rows": contract_rows(actor, page.items),
        "totals": totals,
        "access": money_access(actor),
        "filtered": bool(filters),
        "customer_name": customer_name,
        "can_create": can(actor, "create", Contract),
    }
    target = fragment_target(request)
    if target == "contract-more":
        return render(request, "contracts/_contract_rows.html", context)
    if target == "contract-results":
        return render(request, "contracts/_contract_results.html", context)
    return render(request, "contracts/contract_list.html", context)


# ----------------------------------------------------------------- create


def _source(request: HttpRequest) -> dict[str, Any]:
    """Where the new contract comes from: ?opportunity=, ?quote= or ?customer= (404 when
    the actor cannot see it)."""
    actor = request.user
    params = request.POST if request.method == "POST" else request.GET
    for key, getter in (
        ("quote", quote_for_contract),
        ("opportunity", opportunity_for_contract),
        ("customer", customer_for_contract),
    ):
        value = params.get(key)
        if value:
            obj = get_or_404(getter, actor=actor, **{f"{key}_id": value})
            return {"kind": key, "obj": obj}
    return {}


def _customer_choices(actor: Any, q: str) -> list[Any]:
    from crm.customers.selectors import customer_list

    if not q:
        return []
    return list(customer_list(actor=actor, filters={"q": q}, limit=10).items)


@login_required
def contract_create_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "create", Contract):
        raise Http404()
    source = _source(request)
    context: dict[str, Any] = {"source": source, "creating": True}
    if not source:
        q = request.GET.get("q", "").strip()[:100]
        context.update({"q": q, "customers": _customer_choices(actor, q)})
        return render(request, "contracts/contract_pick.html", context)
    kind, obj = source["kind"], source["obj"]
    initial: dict[str, Any] = {"currency": "CNY"}
    try:
        if kind == "opportunity":
            contract_from_opportunity_check(actor, obj)
            initial.update(contract_prefill_from_opportunity(actor, obj))
            context["customer"] = obj.customer
        elif kind == "quote":
            contract_from_quote_check(actor, obj)
            initial.update(contract_prefill_from_quote(actor, obj))
            context["customer"] = obj.customer
        else:
            context["customer"] = obj
    except DomainError as exc:
        context["blocked"] = exc.message
        return render(request, "contracts/contract_form.html", context, status=400)
    if "amount" in initial:
        initial["amount"] = f"{initial['amount']:.2f}"
    kwargs: dict[str, Any] = {
        "owners": contract_owner_choices(actor=actor),
        "states": _states(actor, "contract"),
    }
    if request.method != "POST":
        initial["owner"] = str(actor.pk)
        context["form"] = ContractForm(initial=initial, **kwargs)
        return render(request, "contracts/contract_form.html", context)
    form = ContractForm(request.POST, initial=initial, **kwargs)
    if form.is_valid():
        data = form.contract_data()
        owner = data.pop("owner", None)
        try:
            if kind == "opportunity":
                contract = contract_from_opportunity(
                    actor=actor, opportunity=obj, data=data, owner=owner
                )
            elif kind == "quote":
                contract = contract_from_quote(actor=actor, quote=obj, data=data, owner=owner)
            else:
                contract = contract_create(actor=actor, customer=obj, data=data, owner=owner)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request,
                _("已创建合同 %(number)s。下一步：添加回款计划，然后提交审批。")
                % {"number": contract.number},
            )
            return redirect("contract_detail", pk=contract.pk)
    context["form"] = form
    return render(request, "contracts/contract_form.html", context, status=400)


# ----------------------------------------------------------------- detail and edit


@login_required
def contract_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    detail = get_or_404(contract_detail, actor=actor, contract_id=pk)
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "d": detail,
            "contract": detail.contract,
            "attachment_form": AttachmentForm(),
            "max_mb": config.contract_settings().get("max_attachment_mb") or 20,
            "today": timezone.localdate(),
        },
    )


@login_required
def contract_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    contract = get_or_404(contract_get, actor=actor, contract_id=pk)
    if not can(actor, "edit", contract):
        raise Http404()
    editable = policies.contract_editable_fields(contract)
    states = _states(actor, "contract")
    amount_state = states.get("amount", {})
    initial = {
        "number": contract.number,
        "name": contract.name,
        "amount": f"{contract.amount_value:.2f}",
        "currency": contract.currency,
        "signed_on": contract.signed_on,
        "start_date": contract.start_date,
        "end_date": contract.end_date,
        "terms": contract.terms,
        "notes": contract.notes,
        "owner": str(contract.owner_id),
        "version": contract.version,
    }
    kwargs: dict[str, Any] = {
        "owners": contract_owner_choices(actor=actor, include=contract.owner_id),
        "states": states,
        "editable": editable,
        "masked_amount": bool(amount_state.get("masked")),
    }
    context: dict[str, Any] = {
        "contract": contract,
        "creating": False,
        "customer": contract.customer,
    }
    if request.method != "POST":
        context["form"] = ContractForm(initial=initial, **kwargs)
        return render(request, "contracts/contract_form.html", context)
    form = ContractForm(request.POST, initial=initial, **kwargs)
    if form.is_valid():
        try:
            contract_update(
                actor=actor,
                contract=contract,
                expected_version=form.cleaned_data.get("version"),
                data=form.contract_data(),
            )
        except StaleVersion as exc:
            fresh = contract_get(actor=actor, contract_id=pk)
            form.add_error(None, exc.message)
            context["stale_version"] = fresh.version
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存合同 %s") % contract.number)
            return redirect("contract_detail", pk=contract.pk)
    context["form"] = form
    return render(request, "contracts/contract_form.html", context, status=400)


@login_required
@require_POST
def contract_transition_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    actor = request.user
    contract = get_or_404(contract_get, actor=actor, contract_id=pk)
    transition = policies.transition_get(action)
    if transition is None:
        raise Http404()
    form = TransitionForm(request.POST)
    form.is_valid()
    try:
        contract_transition(
            actor=actor,
            contract=contract,
            action=action,
            expected_version=form.cleaned_data.get("version"),
            reason=form.cleaned_data.get("reason") or "",
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, str(transition.done))
    return redirect(_detail_url(contract))


@login_required
@require_POST
def contract_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    contract = get_or_404(contract_get, actor=actor, contract_id=pk)
    try:
        contract_delete(actor=actor, contract=contract)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_detail_url(contract))
    messages.success(request, _("已把合同 %s 移到回收站，可在回收站恢复") % contract.number)
    return redirect("contract_list")


@login_required
@require_POST
def contract_reveal_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The clear contract amount, for those whose level is "reveal" (audited)."""
    actor = request.user
    contract = get_or_404(contract_get, actor=actor, contract_id=pk)
    try:
        reveal(actor, contract, "amount")
    except DomainError as exc:
        raise DjangoPermissionDenied(exc.message) from exc
    return HttpResponse(
        format_html('<span class="revealed-value">{}</span>', money(contract.amount_value))
    )


# ----------------------------------------------------------------- plan


@login_required
def contract_plan_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    contract = get_or_404(contract_get, actor=actor, contract_id=pk)
    if not policies.contract_can_edit_plan(actor, contract):
        raise Http404()
    access = money_access(actor)
    if not access.amount_clear:
        # Plan amounts would give the contract amount away: edit only with clear amounts.
        raise Http404()
    plans = contract_plans(actor=actor, contract=contract)
    today = timezone.localdate()
    gen_initial = {
        "count": 3,
        "first_due": contract.start_date or contract.signed_on or today,
        "months_between": 1,
        "version": contract.version,
    }
    context: dict[str, Any] = {
        "contract": contract,
        "access": access,
        "amount": access.amount(contract.amount_value),
        "rows": [
            {
                "due_date": p.due_date.isoformat(),
                "amount": f"{p.amount:.2f}" if access.amount_clear else "",
                "notes": p.notes,
                "received": access.balance(p.received),
            }
            for p in plans
        ],
        "version": contract.version,
        "has_plan": bool(plans),
        "gen_form": PlanGenerateForm(initial=gen_initial),
        "errors": [],
    }
    if request.method == "POST":
        version = request.POST.get("version")
        expected = int(version) if version and version.isdigit() else None
        try:
            if request.POST.get("action") == "generate":
                gen = PlanGenerateForm(request.POST)
                context["gen_form"] = gen
                if not gen.is_valid():
                    raise _FormInvalid()
                contract_plan_generate(
                    actor=actor,
                    contract=contract,
                    expected_version=expected,
                    count=gen.cleaned_data["count"],
                    first_due=gen.cleaned_data["first_due"],
                    months_between=gen.cleaned_data["months_between"],
                )
            else:
                rows = plan_rows_from_post(request.POST)
                context["rows"] = rows
                contract_plan_set(
                    actor=actor, contract=contract, expected_version=expected, instalments=rows
                )
        except _FormInvalid:
            pass
        except DomainError as exc:
            context["errors"] = [e["message"] for e in exc.errors] or [exc.message]
        else:
            messages.success(request, _("已保存回款计划"))
            return redirect(_detail_url(contract, "plan"))
        return render(request, "contracts/contract_plan.html", context, status=400)
    if not context["rows"]:
        context["rows"] = [{"due_date": "", "amount": "", "notes": ""}]
    return render(request, "contracts/contract_plan.html", context)


class _FormInvalid(Exception):
    """The generate form did not validate: its errors are on the form."""


# ----------------------------------------------------------------- payments


@login_required
def payment_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    contract = get_or_404(contract_get, actor=actor, contract_id=pk)
    if not can(actor, "create", Payment) or contract.status not in policies.PAYABLE:
        raise Http404()
    access = money_access(actor)
    plans = [
        r
        for r in instalment_rows(actor, contract_plans(actor=actor, contract=contract))
        if r.state != "paid"
    ]
    choices = []
    for r in plans:
        label = _("第 %(n)d 期（%(d)s）") % {"n": r.plan.seq, "d": r.plan.due_date.isoformat()}
        if access.balance_clear:
            label += _(" 未收 %s") % money(r.plan.outstanding)
        choices.append((str(r.plan.pk), label))
    by_id = {str(r.plan.pk): r.plan for r in plans}
    states = _states(actor, "payment")
    detail = contract_detail(actor=actor, contract_id=contract.pk)
    context: dict[str, Any] = {"contract": contract, "d": detail}
    if request.method != "POST":
        initial: dict[str, Any] = {"received_on": timezone.localdate()}
        wanted = request.GET.get("plan")
        if wanted in by_id:
            initial["plan"] = wanted
            if access.balance_clear:
                initial["amount"] = f"{by_id[wanted].outstanding:.2f}"
        form = PaymentForm(initial=initial, plans=choices)
        form.apply_states(states)
        context["form"] = form
        return render(request, "contracts/payment_form.html", context)
    form = PaymentForm(request.POST, plans=choices)
    form.apply_states(states)
    if form.is_valid():
        plan = by_id.get(form.cleaned_data.get("plan") or "")
        try:
            payment_create(actor=actor, contract=contract, data=form.payment_data(), plan=plan)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已登记回款"))
            return redirect(_detail_url(contract, "payments"))
    context["form"] = form
    return render(request, "contracts/payment_form.html", context, status=400)


@login_required
@require_POST
def payment_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    payment = get_or_404(payment_get, actor=actor, payment_id=pk)
    try:
        payment_delete(actor=actor, payment=payment)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已撤销这笔回款，可在回收站恢复"))
    return redirect(safe_next(request, reverse("payment_list") + "?view=payments"))


PAYMENT_VIEWS = [*INSTALMENT_VIEWS, "payments"]


@login_required
@vary_on_headers("HX-Request")
def payment_list_view(request: HttpRequest) -> HttpResponse:
    """Receivables for finance (and owners): overdue, due soon, every open instalment,
    and the payment records."""
    actor = request.user
    if not can(actor, "view", Payment) and not can(actor, "view", Contract):
        raise Http404()
    view = request.GET.get("view") or "overdue"
    if view not in PAYMENT_VIEWS:
        view = "overdue"
    owner = request.GET.get("owner") or ""
    if owner not in ("", "me", "team"):
        owner = ""
    month = (request.GET.get("month") or "").strip()[:7]
    filters: dict[str, Any] = {"view": view, "owner": owner}
    if month and view == "payments":
        filters["month"] = month
    customer = request.GET.get("customer") or ""
    if customer.isdigit():
        filters["customer"] = customer
    cursor = request.GET.get("cursor") or None
    access = money_access(actor)
    context: dict[str, Any] = {
        "view": view,
        "owner": owner,
        "month": month,
        "customer": customer if customer.isdigit() else "",
        "access": access,
        "views": [
            ("overdue", _("已逾期")),
            ("due", _("即将到期")),
            ("open", _("全部未收")),
            ("payments", _("回款记录")),
        ],
    }
    try:
        if view == "payments":
            page = payment_list(actor=actor, filters=filters, cursor=cursor, limit=PAGE_SIZE)
            context["payments"] = payment_rows(actor, page.items)
        else:
            page = instalment_list(actor=actor, filters=filters, cursor=cursor, limit=PAGE_SIZE)
            context["lines"] = page.items
    except DomainError as exc:
        messages.error(request, exc.message)
        page = Page(items=[], next=None)
        context["payments"] = []
        context["lines"] = []
    context["page"] = page
    query = request.GET.copy()
    query.pop("cursor", None)
    context["query"] = query.urlencode()
    target = fragment_target(request)
    if target == "payment-more":
        return render(request, "contracts/_payment_rows.html", context)
    context["summary"] = receivable_summary(actor=actor)
    return render(request, "contracts/payment_list.html", context)


# ----------------------------------------------------------------- attachments


@login_required
@require_POST
def attachment_upload_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    contract = get_or_404(contract_get, actor=actor, contract_id=pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("请选择要上传的文件"))
        return redirect(_detail_url(contract, "attachments"))
    try:
        att = attachment_add(actor=actor, contract=contract, upload=form.cleaned_data["file"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已上传附件「%s」") % att.name)
    return redirect(_detail_url(contract, "attachments"))


@login_required
def attachment_download_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A contract's file, only for those who see the contract and may read its amount."""
    att = get_or_404(attachment_get, actor=request.user, attachment_id=pk)
    try:
        handle = att.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404() from exc
    inline = att.content_type.startswith("image/") or att.content_type == "application/pdf"
    response = FileResponse(
        handle, content_type=att.content_type, as_attachment=not inline, filename=att.name
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def attachment_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    att = get_or_404(attachment_get, actor=actor, attachment_id=pk)
    try:
        attachment_delete(actor=actor, attachment=att)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已删除附件「%s」") % att.name)
    return redirect(_detail_url(att.contract, "attachments"))


# ----------------------------------------------------------------- fragments


@login_required
def customer_contracts_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Customer 360: the customer's contracts the actor sees, and the receivable."""
    actor = request.user
    customer = get_or_404(customer_for_contract, actor=actor, customer_id=pk)
    if not can(actor, "view", Contract):
        return HttpResponse("")
    group = customer_contracts(actor=actor, customer_id=customer.pk)
    return render(
        request,
        "contracts/_customer_contracts.html",
        {
            "customer": customer,
            "group": group,
            "can_create": can(actor, "create", Contract),
        },
    )


@login_required
def opportunity_contracts_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Opportunity page: its contracts, and "create" once it is won."""
    from crm.opportunities.models import OpportunityStatus

    actor = request.user
    opportunity = get_or_404(opportunity_for_contract, actor=actor, opportunity_id=pk)
    if not can(actor, "view", Contract):
        return HttpResponse("")
    group = opportunity_contracts(actor=actor, opportunity_id=opportunity.pk)
    return render(
        request,
        "contracts/_opportunity_contracts.html",
        {
            "opportunity": opportunity,
            "group": group,
            "won": opportunity.status == OpportunityStatus.WON,
            "can_create": can(actor, "create", Contract),
        },
    )


# ----------------------------------------------------------------- settings


@login_required
def contract_settings_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not is_admin(actor):
        raise Http404()
    current = config.contract_settings()
    version = setting_version(config.CONTRACTS)
    if request.method != "POST":
        form = ContractSettingsForm(initial={**current, "version": version})
        return render(
            request,
            "contracts/contract_settings.html",
            {"form": form, "example": _example(current)},
        )
    form = ContractSettingsForm(request.POST, initial={**current, "version": version})
    if form.is_valid():
        data = dict(form.cleaned_data)
        expected = data.pop("version")
        try:
            contract_settings_update(actor=actor, data=data, expected_version=expected)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存合同设置"))
            return redirect("contract_settings")
    return render(
        request,
        "contracts/contract_settings.html",
        {"form": form, "example": _example(current)},
        status=400,
    )


def _example(settings: dict[str, Any]) -> str:
    digits = int(settings.get("number_digits") or 4)
    return f"{settings.get('number_prefix') or 'HT'}-{dt.date.today().year}-{1:0{digits}d}"
