"""Product, price-list and quote pages (htmx, phone first), the opportunity-products and
customer/opportunity quote fragments, the revision history and the print view.

Thin: parse input, call one selector or service, render. A record outside the actor's scope
is a 404; a domain error is shown next to its field and nothing typed is lost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access.visibility import can, is_admin
from crm.core.errors import DomainError, NotFound, StaleVersion
from crm.core.viewutils import fragment_target, get_or_404, redirect_htmx, safe_next
from crm.customers.selectors import customer_get
from crm.quotes import config, selectors, services
from crm.quotes.forms import (
    OpportunityProductEditForm,
    OpportunityProductForm,
    PriceListForm,
    PriceListItemForm,
    ProductFilterForm,
    ProductForm,
    QuoteFilterForm,
    QuoteForm,
    QuoteSettingsForm,
    QuoteStatusForm,
    line_errors,
    quote_lines_from_post,
)
from crm.quotes.models import PriceList, Product, Quote, QuoteStatus
from crm.quotes.totals import money_round

PAGE_SIZE = 30


# ----------------------------------------------------------------- helpers


def _admin_or_404(actor: Any) -> None:
    if not is_admin(actor):
        raise Http404()


def _version(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# ================================================================= products


@login_required
@vary_on_headers("HX-Request")
def product_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", Product):
        raise Http404()
    params = request.GET.copy()
    params.setdefault("active", "1")  # on sale, unless "全部" or "已停售" was chosen
    form = ProductFilterForm(params, categories=selectors.product_categories(actor=actor))
    try:
        page = selectors.product_list(
            actor=actor,
            filters=form.filters(),
            cursor=request.GET.get("cursor") or None,
            limit=50,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        page = selectors.product_list(actor=actor, filters={"active": "1"}, limit=50)
    price_lists = selectors.pricelist_list(actor=actor, active_only=True)
    prices = selectors.product_prices(actor=actor, product_ids=[p.pk for p in page.items])
    rows = [
        {
            "product": p,
            "prices": [(pl, prices.get(p.pk, {}).get(pl.pk)) for pl in price_lists],
        }
        for p in page.items
    ]
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "form": form,
        "rows": rows,
        "price_lists": price_lists,
        "next_cursor": page.next,
        "query": query.urlencode(),
        "can_admin": is_admin(actor),
        "nav_current": "product_list",
    }
    target = fragment_target(request)
    if target == "product-more":
        return render(request, "quotes/_product_rows.html", context)
    if target == "product-results":
        return render(request, "quotes/_product_results.html", context)
    return render(request, "quotes/product_list.html", context)


def _product_save(
    request: HttpRequest, product: Product | None, form: ProductForm
) -> Product | None:
    data = form.cleaned_data
    values = {k: data.get(k) for k in services.PRODUCT_FIELDS}
    try:
        if product is None:
            return services.product_create(actor=request.user, data=values)
        return services.product_update(
            actor=request.user,
            product=product,
            expected_version=data.get("version"),
            data=values,
        )
    except StaleVersion as exc:
        form.add_error(None, exc.message)
    except DomainError as exc:
        form.add_domain_error(exc)
    return None


@login_required
def product_create_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _admin_or_404(actor)
    defaults = config.quote_settings()
    form = ProductForm(
        request.POST or None,
        initial={"unit": "台", "tax_rate": defaults.get("default_tax_rate") or "13"},
    )
    if request.method == "POST" and form.is_valid():
        product = _product_save(request, None, form)
        if product is not None:
            messages.success(request, _("已新建产品「%s」") % product.name)
            return redirect("product_list")
    return render(
        request,
        "quotes/product_form.html",
        {
            "form": form,
            "creating": True,
            "categories": selectors.product_categories(actor=actor),
            "nav_current": "product_list",
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def product_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    _admin_or_404(actor)
    product = get_or_404(selectors.product_get, actor=actor, product_id=pk)
    initial = {
        "code": product.code,
        "name": product.name,
        "category": product.category,
        "unit": product.unit,
        "list_price": product.list_price,
        "tax_rate": product.tax_rate,
        "description": product.description,
        "version": product.version,
    }
    form = ProductForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _product_save(request, product, form)
        if saved is not None:
            messages.success(request, _("已保存产品「%s」") % saved.name)
            return redirect("product_list")
    return render(
        request,
        "quotes/product_form.html",
        {
            "form": form,
            "product": product,
            "categories": selectors.product_categories(actor=actor),
            "nav_current": "product_list",
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def product_toggle_view(request: HttpRequest, pk: int) -> HttpResponse:
    """停售 / 恢复在售."""
    actor = request.user
    _admin_or_404(actor)
    product = get_or_404(selectors.product_get, actor=actor, product_id=pk)
    active = request.POST.get("active") == "1"
    try:
        services.product_set_active(
            actor=actor,
            product=product,
            active=active,
            expected_version=_version(request.POST.get("version")),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if active:
            messages.success(request, _("「%s」已恢复在售") % product.name)
        else:
            messages.success(
                request,
                _("「%s」已停售：不能再加入新的报价，已有报价不受影响") % product.name,
            )
    return redirect(safe_next(request, reverse("product_list")))


# ================================================================= price lists


@login_required
def pricelist_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _admin_or_404(actor)
    form = PriceListForm(request.POST or None, initial={"currency": "CNY", "is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            price_list = services.pricelist_create(actor=actor, data=form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request, _("已新建价格表「%s」，现在可以添加产品价格") % price_list.name
            )
            return redirect("pricelist_detail", pk=price_list.pk)
    return render(
        request,
        "quotes/pricelist_list.html",
        {
            "form": form,
            "price_lists": selectors.pricelist_list(actor=actor),
            "counts": selectors.pricelist_counts(),
            "nav_current": "pricelist_list",
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def pricelist_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A price list: its header, its prices, and a form to add or change one price."""
    actor = request.user
    _admin_or_404(actor)
    price_list: PriceList = get_or_404(selectors.pricelist_get, actor=actor, price_list_id=pk)
    products = selectors.product_choices(actor=actor)
    header_form = PriceListForm(
        initial={
            "name": price_list.name,
            "currency": price_list.currency,
            "valid_from": price_list.valid_from,
            "valid_until": price_list.valid_until,
            "is_default": price_list.is_default,
            "is_active": price_list.is_active,
        },
        prefix="list",
    )
    item_form = PriceListItemForm(products=products, initial={"min_quantity": "1"})
    status = 200
    if request.method == "POST":
        status = 400
        if request.POST.get("action") == "header":
            header_form = PriceListForm(request.POST, prefix="list")
            if header_form.is_valid():
                try:
                    services.pricelist_update(
                        actor=actor, price_list=price_list, data=header_form.cleaned_data
                    )
                except DomainError as exc:
                    header_form.add_domain_error(exc)
                else:
                    messages.success(request, _("已保存价格表"))
                    return redirect("pricelist_detail", pk=price_list.pk)
        else:
            item_form = PriceListItemForm(request.POST, products=products)
            if item_form.is_valid():
                data = item_form.cleaned_data
                try:
                    services.pricelist_item_set(
                        actor=actor,
                        price_list=price_list,
                        product=data["product"],
                        price=data["price"],
                        min_quantity=data.get("min_quantity"),
                    )
                except DomainError as exc:
                    item_form.add_domain_error(exc)
                else:
                    messages.success(request, _("已设置「%s」的价格") % data["product"].name)
                    return redirect("pricelist_detail", pk=price_list.pk)
    items = selectors.pricelist_items(actor=actor, price_list=price_list)
    return render(
        request,
        "quotes/pricelist_detail.html",
        {
            "price_list": price_list,
            "header_form": header_form,
            "item_form": item_form,
            "items": items,
            "nav_current": "pricelist_list",
        },
        status=status,
    )


@login_required
@require_POST
def pricelist_item_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    _admin_or_404(actor)
    item = get_or_404(selectors.pricelist_item_get, actor=actor, item_id=pk)
    price_list_id = item.price_list_id
    try:
        services.pricelist_item_remove(actor=actor, item=item)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已移除「%s」的价格表价格，报价将按标准价") % item.product.name)
    return redirect("pricelist_detail", pk=price_list_id)


# ================================================================= opportunity products


def _opportunity_products_context(
    request: HttpRequest, opportunity: Any, form: OpportunityProductForm | None = None
) -> dict[str, Any]:
    actor = request.user
    lines = selectors.opportunity_products(actor=actor, opportunity_id=opportunity.pk)
    for line in lines:
        line.line_amount = money_round(line.quantity * line.unit_price)  # type: ignore[attr-defined]
    can_edit = can(actor, "edit", opportunity)
    amounts = selectors.quote_amounts_visible(actor)
    total = services.opportunity_products_total(opportunity) if lines else None
    if can_edit and form is None:
        form = OpportunityProductForm(
            products=selectors.product_choices(actor=actor), initial={"quantity": "1"}
        )
    return {
        "opportunity": opportunity,
        "lines": lines,
        "total": total if amounts else "****",
        "amounts": amounts,
        "can_edit": can_edit,
        "form": form,
        "amount_differs": total is not None and total != opportunity.amount,
    }


@login_required
@vary_on_headers("HX-Request")
def opportunity_products_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The products of an opportunity (fragment on its page): GET lists, POST adds a line."""
    actor = request.user
    opportunity = get_or_404(selectors.opportunity_get, actor=actor, opportunity_id=pk)
    if request.method != "POST":
        return render(
            request,
            "quotes/_opportunity_products.html",
            _opportunity_products_context(request, opportunity),
        )
    if not can(actor, "edit", opportunity):
        raise Http404()
    form = OpportunityProductForm(request.POST, products=selectors.product_choices(actor=actor))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.opportunity_product_add(
                actor=actor,
                opportunity=opportunity,
                product=data["product"],
                quantity=data["quantity"],
                unit_price=data.get("unit_price") or None,
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            form = None  # type: ignore[assignment]
            if fragment_target(request) is None:
                messages.success(request, _("已添加产品"))
                return redirect(safe_next(request, request.path))
    context = _opportunity_products_context(request, opportunity, form)
    status = 200 if form is None or fragment_target(request) is not None else 400
    return render(request, "quotes/_opportunity_products.html", context, status=status)


@login_required
@vary_on_headers("HX-Request")
def opportunity_product_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One line in edit mode (GET) or saved (POST); answers with the whole fragment."""
    actor = request.user
    line = get_or_404(selectors.opportunity_product_get, actor=actor, line_id=pk)
    opportunity = line.opportunity
    if not can(actor, "edit", opportunity):
        raise Http404()
    if request.method != "POST":
        form = OpportunityProductEditForm(
            initial={"quantity": line.quantity, "unit_price": line.unit_price}
        )
    else:
        form = OpportunityProductEditForm(request.POST)
        if form.is_valid():
            try:
                services.opportunity_product_update(
                    actor=actor,
                    line=line,
                    quantity=form.cleaned_data["quantity"],
                    unit_price=form.cleaned_data["unit_price"],
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                return render(
                    request,
                    "quotes/_opportunity_products.html",
                    _opportunity_products_context(request, opportunity),
                )
    context = _opportunity_products_context(request, opportunity)
    context.update({"editing": line.pk, "edit_form": form})
    return render(request, "quotes/_opportunity_products.html", context)


@login_required
@require_POST
def opportunity_product_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    line = get_or_404(selectors.opportunity_product_get, actor=actor, line_id=pk)
    opportunity = line.opportunity
    try:
        services.opportunity_product_remove(actor=actor, line=line)
    except NotFound as exc:
        raise Http404() from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    if fragment_target(request) is not None:
        return render(
            request,
            "quotes/_opportunity_products.html",
            _opportunity_products_context(request, opportunity),
        )
    return redirect(safe_next(request, reverse("opportunity_products", args=[opportunity.pk])))


@login_required
@require_POST
def opportunity_amount_apply_view(request: HttpRequest, pk: int) -> HttpResponse:
    """把商机金额更新为产品合计."""
    actor = request.user
    opportunity = get_or_404(selectors.opportunity_get, actor=actor, opportunity_id=pk)
    try:
        services.opportunity_amount_from_products(
            actor=actor,
            opportunity=opportunity,
            expected_version=_version(request.POST.get("version")),
        )
    except NotFound as exc:
        raise Http404() from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已把商机金额更新为产品合计"))
    detail = reverse("opportunity_products", args=[opportunity.pk])
    with contextlib.suppress(NoReverseMatch):  # the opportunity page, once it exists
        detail = reverse("opportunity_detail", args=[opportunity.pk])
    return redirect_htmx(request, safe_next(request, detail))


# ================================================================= quotes: list


@login_required
@vary_on_headers("HX-Request")
def quote_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", Quote):
        raise Http404()
    form = QuoteFilterForm(request.GET)
    filters = form.filters()
    try:
        page = selectors.quote_list(
            actor=actor, filters=filters, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        page = selectors.quote_list(actor=actor, filters={}, limit=PAGE_SIZE)
    customer_name = ""
    if filters.get("customer"):
        customer_name = selectors.quote_customer_choices(
            actor=actor, ids=[filters["customer"]]
        ).get(int(filters["customer"]), "")
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "form": form,
        "quotes": page.items,
        "next_cursor": page.next,
        "query": query.urlencode(),
        "customer_name": customer_name,
        "amounts": selectors.quote_amounts_visible(actor),
        "today": timezone.localdate(),
        "can_create": can(actor, "create", Quote),
        "nav_current": "quote_list",
    }
    target = fragment_target(request)
    if target == "quote-more":
        return render(request, "quotes/_quote_rows.html", context)
    if target == "quote-results":
        return render(request, "quotes/_quote_results.html", context)
    return render(request, "quotes/quote_list.html", context)


# ================================================================= quotes: editor


def _editor_products(actor: Any, include_ids: list[int]) -> list[dict[str, Any]]:
    products = selectors.product_choices(actor=actor, include_ids=include_ids)
    prices = selectors.product_prices(actor=actor, product_ids=[p.pk for p in products])
    return [
        {
            "product": p,
            "prices": json.dumps({str(k): str(v) for k, v in prices.get(p.pk, {}).items()}),
        }
        for p in products
    ]


def _editor_context(
    request: HttpRequest,
    *,
    customer: Any,
    form: QuoteForm,
    lines: list[dict[str, Any]],
    quote: Quote | None = None,
    opportunity: Any = None,
    errors: dict[int, dict[str, str]] | None = None,
    general: list[str] | None = None,
) -> dict[str, Any]:
    actor = request.user
    include = [int(x["product"]) for x in lines if str(x.get("product") or "").isdigit()]
    errors = errors or {}
    rows = [{"line": line, "errors": errors.get(i, {})} for i, line in enumerate(lines)]
    if not rows:
        rows = [{"line": {}, "errors": {}}]
    return {
        "customer": customer,
        "opportunity": opportunity,
        "quote": quote,
        "form": form,
        "rows": rows,
        "line_general_errors": general or [],
        "products": _editor_products(actor, include),
        "amounts": selectors.quote_amounts_visible(actor),
        "nav_current": "quote_list",
    }


def _quote_form(
    actor: Any, customer: Any, data: Any = None, initial: dict[str, Any] | None = None
) -> QuoteForm:
    return QuoteForm(
        data,
        initial=initial,
        contacts=selectors.customer_quote_contacts(actor=actor, customer_id=customer.pk),
        price_lists=selectors.pricelist_list(actor=actor, active_only=True),
    )


def _line_dicts(lines: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": x.get("id") if isinstance(x, dict) else x.pk,
            "product": (x.get("product_id") if isinstance(x, dict) else x.product_id) or "",
            "name": x["name"] if isinstance(x, dict) else x.name,
            "description": x["description"] if isinstance(x, dict) else x.description,
            "unit": x["unit"] if isinstance(x, dict) else x.unit,
            "quantity": x["quantity"] if isinstance(x, dict) else x.quantity,
            "unit_price": x["unit_price"] if isinstance(x, dict) else x.unit_price,
            "discount_pct": x["discount_pct"] if isinstance(x, dict) else x.discount_pct,
            "tax_rate": x["tax_rate"] if isinstance(x, dict) else x.tax_rate,
        }
        for x in lines
    ]


def _service_lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (v if v != "" else None) for k, v in row.items()} for row in rows]


@login_required
def quote_create_view(request: HttpRequest) -> HttpResponse:
    """New quote for a customer (?customer=) or an opportunity (?opportunity=, its products
    prefill the lines)."""
    actor = request.user
    if not can(actor, "create", Quote):
        raise Http404()
    source = request.POST if request.method == "POST" else request.GET
    opportunity = None
    raw_opp = source.get("opportunity") or ""
    if raw_opp:
        opportunity = get_or_404(selectors.opportunity_get, actor=actor, opportunity_id=raw_opp)
        customer = opportunity.customer
    else:
        raw_customer = source.get("customer") or ""
        if not raw_customer:
            messages.info(request, _("请先打开客户或商机，再从那里新建报价单"))
            return redirect("quote_list")
        customer = get_or_404(customer_get, actor=actor, customer_id=raw_customer)
    if request.method != "POST":
        settings = config.quote_settings()
        days = int(settings.get("default_validity_days") or 30)
        default_list = next(
            (p for p in selectors.pricelist_list(actor=actor, active_only=True) if p.is_default),
            None,
        )
        initial = {
            "title": opportunity.name if opportunity else _("%s 报价") % customer.name,
            "valid_until": timezone.localdate() + dt.timedelta(days=days),
            "discount_pct": "0",
            "tax_included": "1" if settings.get("tax_included", True) else "0",
            "terms": settings.get("default_terms") or "",
            "price_list": default_list.pk if default_list else "",
        }
        lines: list[dict[str, Any]] = []
        if opportunity is not None:
            lines = [
                {
                    "id": "",
                    "product": x.product_id,
                    "name": x.product.name,
                    "description": "",
                    "unit": x.product.unit,
                    "quantity": x.quantity,
                    "unit_price": x.unit_price,
                    "discount_pct": "0",
                    "tax_rate": x.product.tax_rate,
                }
                for x in selectors.opportunity_products(actor=actor, opportunity_id=opportunity.pk)
            ]
        form = _quote_form(actor, customer, initial=initial)
        context = _editor_context(
            request, customer=customer, form=form, lines=lines, opportunity=opportunity
        )
        return render(request, "quotes/quote_form.html", context)
    form = _quote_form(actor, customer, data=request.POST)
    rows = quote_lines_from_post(request.POST)
    errors: dict[int, dict[str, str]] = {}
    general: list[str] = []
    if form.is_valid():
        try:
            quote = services.quote_create(
                actor=actor,
                customer=customer,
                opportunity=opportunity,
                data=form.header(),
                lines=_service_lines(rows),
                note=form.cleaned_data.get("note") or "",
            )
        except DomainError as exc:
            errors, general = line_errors(exc, len(rows))
            if not errors and not general:
                form.add_domain_error(exc)
        else:
            messages.success(request, _("已新建报价单 %s") % quote.number)
            return redirect("quote_detail", pk=quote.pk)
    context = _editor_context(
        request,
        customer=customer,
        form=form,
        lines=rows,
        opportunity=opportunity,
        errors=errors,
        general=general,
    )
    return render(request, "quotes/quote_form.html", context, status=400)


@login_required
def quote_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Revise a quote: saving a change makes a new revision (the old one stays readable)."""
    actor = request.user
    quote: Quote = get_or_404(selectors.quote_get, actor=actor, quote_id=pk)
    if not can(actor, "edit", quote):
        raise Http404()
    if quote.status == QuoteStatus.ACCEPTED:
        messages.error(request, _("客户已接受的报价单不能修改；如需调整请新建报价单"))
        return redirect("quote_detail", pk=quote.pk)
    customer = quote.customer
    if request.method != "POST":
        initial = {
            "title": quote.title,
            "contact": quote.contact_id or "",
            "price_list": quote.price_list_id or "",
            "valid_until": quote.valid_until,
            "discount_pct": quote.discount_pct,
            "tax_included": "1" if quote.tax_included else "0",
            "terms": quote.terms,
            "notes": quote.notes,
            "version": quote.version,
        }
        form = _quote_form(actor, customer, initial=initial)
        context = _editor_context(
            request,
            customer=customer,
            form=form,
            lines=_line_dicts(selectors.quote_lines(quote)),
            quote=quote,
            opportunity=quote.opportunity,
        )
        return render(request, "quotes/quote_form.html", context)
    form = _quote_form(actor, customer, data=request.POST)
    rows = quote_lines_from_post(request.POST)
    errors: dict[int, dict[str, str]] = {}
    general: list[str] = []
    if form.is_valid():
        try:
            before = quote.revision
            saved = services.quote_revise(
                actor=actor,
                quote=quote,
                expected_version=form.cleaned_data.get("version"),
                data=form.header(),
                lines=_service_lines(rows),
                note=form.cleaned_data.get("note") or "",
            )
        except StaleVersion as exc:
            form.add_error(None, exc.message)
        except DomainError as exc:
            errors, general = line_errors(exc, len(rows))
            if not errors and not general:
                form.add_domain_error(exc)
        else:
            if saved.revision == before:
                messages.info(request, _("没有修改，未生成新版本"))
            else:
                messages.success(
                    request,
                    _("已保存为第 %(n)d 版（上一版仍可在修订历史中查看）") % {"n": saved.revision},
                )
            return redirect("quote_detail", pk=quote.pk)
    context = _editor_context(
        request,
        customer=customer,
        form=form,
        lines=rows,
        quote=quote,
        opportunity=quote.opportunity,
        errors=errors,
        general=general,
    )
    return render(request, "quotes/quote_form.html", context, status=400)


@login_required
@require_POST
def quote_preview_view(request: HttpRequest) -> HttpResponse:
    """The editor's live totals (htmx): the same function the save uses, nothing written."""
    actor = request.user
    if not (can(actor, "create", Quote) or can(actor, "edit", Quote)):
        raise Http404()
    post = request.POST
    rows = quote_lines_from_post(post)
    context: dict[str, Any] = {
        "amounts": selectors.quote_amounts_visible(actor),
        "tax_included": post.get("tax_included") == "1",
        "discount_pct": post.get("discount_pct") or "0",
        "currency": "CNY",
    }
    try:
        totals = services.quote_preview(
            data={
                "price_list": post.get("price_list") or None,
                "discount_pct": post.get("discount_pct") or "0",
                "tax_included": post.get("tax_included") == "1",
            },
            lines=_service_lines(rows),
        )
    except DomainError as exc:
        per_line, general = line_errors(exc, len(rows))
        problem = general[0] if general else exc.message
        if per_line:
            index = min(per_line)
            problem = _("第 %(n)d 行：%(m)s") % {
                "n": index + 1,
                "m": next(iter(per_line[index].values())),
            }
        context["problem"] = problem
    else:
        context["totals"] = totals
        context["line_amounts"] = list(totals.line_amounts)
    return render(request, "quotes/_quote_totals_preview.html", context)


# ================================================================= quotes: detail, status


def _status_actions(actor: Any, quote: Quote) -> list[tuple[str, str, str]]:
    if not can(actor, "edit", quote):
        return []
    labels: dict[str, tuple[str, str]] = {
        QuoteStatus.SENT: (_("标记为已发送"), "primary"),
        QuoteStatus.ACCEPTED: (_("客户已接受"), "success"),
        QuoteStatus.REJECTED: (_("客户已拒绝"), "outline-danger"),
        QuoteStatus.DRAFT: (_("撤回为草稿"), "outline-secondary"),
    }
    return [
        (status, str(labels[status][0]), labels[status][1])
        for status in services.TRANSITIONS.get(quote.status, ())
        if status in labels
    ]


@login_required
def quote_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    quote: Quote = get_or_404(selectors.quote_get, actor=actor, quote_id=pk)
    doc = get_or_404(selectors.quote_document, actor=actor, quote=quote)
    today = timezone.localdate()
    history = selectors.quote_history(actor=actor, quote=quote)
    context = {
        "quote": quote,
        "doc": doc,
        "history": history[:3],
        "revision_count": len(history),
        "can_edit": can(actor, "edit", quote) and quote.status != QuoteStatus.ACCEPTED,
        "can_delete": can(actor, "delete", quote),
        "status_actions": _status_actions(actor, quote),
        "past_validity": quote.is_open and quote.is_past_validity(today),
        "status_label": services.status_label(quote.status),
        "nav_current": "quote_list",
    }
    return render(request, "quotes/quote_detail.html", context)


@login_required
@require_POST
def quote_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    quote: Quote = get_or_404(selectors.quote_get, actor=actor, quote_id=pk)
    form = QuoteStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("未知的报价状态"))
        return redirect("quote_detail", pk=quote.pk)
    try:
        services.quote_set_status(
            actor=actor,
            quote=quote,
            status=form.cleaned_data["status"],
            expected_version=form.cleaned_data.get("version"),
        )
    except NotFound as exc:
        raise Http404() from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("报价单状态已改为「%s」") % services.status_label(quote.status))
    return redirect("quote_detail", pk=quote.pk)


@login_required
@require_POST
def quote_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    quote: Quote = get_or_404(selectors.quote_get, actor=actor, quote_id=pk)
    try:
        services.quote_delete(actor=actor, quote=quote)
    except NotFound as exc:
        raise Http404() from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("quote_detail", pk=quote.pk)
    messages.success(request, _("已把报价单 %s 移到回收站，可以在回收站恢复") % quote.number)
    return redirect("quote_list")


# ================================================================= revisions, print


@login_required
def quote_revisions_view(request: HttpRequest, pk: int) -> HttpResponse:
    """修订历史: every revision, who changed what (old → new), newest first."""
    actor = request.user
    quote: Quote = get_or_404(selectors.quote_get, actor=actor, quote_id=pk)
    return render(
        request,
        "quotes/quote_revisions.html",
        {
            "quote": quote,
            "history": selectors.quote_history(actor=actor, quote=quote),
            "nav_current": "quote_list",
        },
    )


@login_required
def quote_revision_view(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """One past (or the current) revision as it was."""
    actor = request.user
    quote: Quote = get_or_404(selectors.quote_get, actor=actor, quote_id=pk)
    doc = get_or_404(selectors.quote_document, actor=actor, quote=quote, number=number)
    return render(
        request,
        "quotes/quote_revision.html",
        {"quote": quote, "doc": doc, "nav_current": "quote_list"},
    )


@login_required
def quote_compare_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Two revisions side by side (default: the latest against the one before)."""
    actor = request.user
    quote: Quote = get_or_404(selectors.quote_get, actor=actor, quote_id=pk)
    latest = quote.revision
    b = _version(request.GET.get("b")) or latest
    a = _version(request.GET.get("a")) or max(1, b - 1)
    compare = get_or_404(selectors.quote_compare, actor=actor, quote=quote, a=a, b=b)
    return render(
        request,
        "quotes/quote_compare.html",
        {
            "quote": quote,
            "cmp": compare,
            "numbers": list(range(latest, 0, -1)),
            "a": a,
            "b": b,
            "amounts": selectors.quote_amounts_visible(actor),
            "nav_current": "quote_list",
        },
    )


@login_required
def quote_print_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable quote (A4; the browser's 打印 / 保存为 PDF). ?rev=n prints revision n."""
    actor = request.user
    quote: Quote = get_or_404(selectors.quote_get, actor=actor, quote_id=pk)
    number = _version(request.GET.get("rev"))
    doc = get_or_404(selectors.quote_document, actor=actor, quote=quote, number=number)
    settings = config.quote_settings()
    has_spec = any(line.get("description") for line in doc["lines"])
    has_disc = any(
        str(line.get("discount_pct") or "0") not in ("0", "0.00") for line in doc["lines"]
    )
    return render(
        request,
        "quotes/quote_print.html",
        {
            "quote": quote,
            "doc": doc,
            "has_spec": has_spec,
            "has_disc": has_disc,
            # The totals' labels span every column but the amount.
            "label_span": 6 + int(has_spec) + int(has_disc),
            "company": {**settings, "company_name": config.company_name_fallback()},
            "owner": quote.owner,
            "status_label": services.status_label(quote.status),
        },
    )


# ================================================================= fragments


@login_required
def customer_quotes_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's quotes (fragment on the customer 360 page)."""
    actor = request.user
    customer = get_or_404(customer_get, actor=actor, customer_id=pk)
    return render(
        request,
        "quotes/_customer_quotes.html",
        {
            "customer": customer,
            "quotes": selectors.customer_quotes(actor=actor, customer_id=customer.pk),
            "amounts": selectors.quote_amounts_visible(actor),
            "can_create": can(actor, "create", Quote),
            "new_url": reverse("quote_create") + f"?customer={customer.pk}",
            "today": timezone.localdate(),
        },
    )


@login_required
def opportunity_quotes_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The opportunity's quotes (fragment on the opportunity page)."""
    actor = request.user
    opportunity = get_or_404(selectors.opportunity_get, actor=actor, opportunity_id=pk)
    return render(
        request,
        "quotes/_customer_quotes.html",
        {
            "opportunity": opportunity,
            "quotes": selectors.opportunity_quotes(actor=actor, opportunity_id=opportunity.pk),
            "amounts": selectors.quote_amounts_visible(actor),
            "can_create": can(actor, "create", Quote),
            "new_url": reverse("quote_create") + f"?opportunity={opportunity.pk}",
            "today": timezone.localdate(),
        },
    )


# ================================================================= settings


@login_required
def quote_settings_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _admin_or_404(actor)
    current = config.quote_settings()
    form = QuoteSettingsForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.quote_settings_update(actor=actor, values=form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存报价设置"))
            return redirect("quote_settings")
    return render(
        request,
        "quotes/quote_settings.html",
        {"form": form, "nav_current": "quote_settings"},
        status=400 if request.method == "POST" else 200,
    )
