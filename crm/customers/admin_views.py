"""Pool, tags, collaboration inbox, custom fields, customer settings and handover pages.

Thin: a form parses the input, one service or selector does the work, a template renders it.
A DomainError is shown next to the field it names; NotFound is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access.fieldsec import present
from crm.access.selectors import user_choices, user_list, user_names
from crm.access.visibility import can, is_admin
from crm.core.errors import DomainError, NotFound, StaleVersion
from crm.core.pagination import Page
from crm.core.viewutils import get_or_404, safe_next
from crm.customers import config, selectors, services
from crm.customers.admin_forms import (
    CustomerSettingsForm,
    CustomFieldForm,
    HandoverForm,
    PoolFilterForm,
    PoolPreviewForm,
    TagForm,
)
from crm.customers.models import Customer
from crm.customfields.services import (
    ENTITIES_WITH_CUSTOM_FIELDS,
    custom_field_create,
    custom_field_update,
)

POOL_COLUMNS = ["name", "level", "province", "city", "industry"]


def _admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Administrator pages: anyone else gets the same 404 as for a page that does not exist."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            raise Http404()
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _is_fragment(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def _url_with(request: HttpRequest, **params: Any) -> str:
    """The current page's URL with some query parameters replaced (None removes one)."""
    query: QueryDict = request.GET.copy()
    for key, value in params.items():
        query.pop(key, None)
        if value is not None:
            query[key] = value
    encoded = query.urlencode()
    return request.path + (f"?{encoded}" if encoded else "")


# ---------------------------------------------------------------- public pool (公海)


@login_required
@vary_on_headers("HX-Request")
def pool_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", Customer):
        raise Http404()
    tags = selectors.tag_list(actor=actor)
    form = PoolFilterForm(request.GET or None, levels=config.levels(), tags=tags)
    try:
        page = selectors.customer_list(
            actor=actor,
            filters=form.filters(),
            cursor=request.GET.get("cursor") or None,
            limit=50,
            pool=True,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        page = Page(items=[], next=None)
    rows = [{"obj": c, "values": present(actor, c, POOL_COLUMNS)} for c in page.items]
    context = {
        "form": form,
        "rows": rows,
        "next_url": _url_with(request, cursor=page.next) if page.next else "",
        "first_url": _url_with(request, cursor=None) if request.GET.get("cursor") else "",
        "rules": selectors.pool_summary(actor=actor),
        "can_claim": can(actor, "edit", Customer),
        "here": request.get_full_path(),
        "filtered": bool(form.filters()),
    }
    template = (
        "customers/pool_list_results.html" if _is_fragment(request) else "customers/pool_list.html"
    )
    return render(request, template, context)


# ---------------------------------------------------------------- tags


def _tag_rights(actor: Any) -> dict[str, bool]:
    return {
        "create": can(actor, "create", "tag"),
        "edit": can(actor, "edit", "tag"),
        "delete": can(actor, "delete", "tag"),
    }


@login_required
def tag_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not can(actor, "view", "tag"):
        raise Http404()
    rights = _tag_rights(actor)
    tags = selectors.tag_list(actor=actor)
    form = TagForm(request.POST or None, tags=tags) if rights["create"] else None
    if request.method == "POST":
        if form is None:
            raise Http404()
        if form.is_valid():
            try:
                tag = services.tag_create(
                    actor=actor,
                    name=form.cleaned_data["name"],
                    parent=form.cleaned_data["parent"],
                    color=form.cleaned_data["color"],
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("已创建标签「%s」") % tag.full_name)
                return redirect("tag_list")
    counts = selectors.tag_customer_counts(actor=actor)
    rows = [{"tag": t, "count": counts.get(t.pk, 0)} for t in tags]
    return render(
        request,
        "customers/tag_list.html",
        {"rows": rows, "form": form, "rights": rights},
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def tag_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    tag = get_or_404(selectors.tag_get, actor=actor, tag_id=pk)
    rights = _tag_rights(actor)
    if not (rights["edit"] or rights["delete"]):
        raise Http404()
    tags = selectors.tag_list(actor=actor)
    count = selectors.tag_customer_counts(actor=actor).get(tag.pk, 0)
    has_children = any(t.parent_id == tag.pk for t in tags)
    action = request.POST.get("action", "save")
    initial = {"name": tag.name, "parent": tag.parent_id or "", "color": tag.color}
    form = TagForm(
        request.POST if request.method == "POST" and action == "save" else None,
        initial=initial,
        tags=tags,
        editing=tag,
    )
    delete_error = ""
    if request.method == "POST":
        try:
            if action == "delete":
                services.tag_delete(actor=actor, tag=tag)
                messages.success(
                    request,
                    _("已删除标签「%(name)s」：%(n)d 个客户移除了该标签，客户本身没有被删除。")
                    % {"name": tag.full_name, "n": count},
                )
                return redirect("tag_list")
            if form.is_valid():
                services.tag_update(
                    actor=actor,
                    tag=tag,
                    name=form.cleaned_data["name"],
                    parent=form.cleaned_data["parent"],
                    color=form.cleaned_data["color"],
                )
                messages.success(request, _("已保存标签「%s」") % tag.full_name)
                return redirect("tag_list")
        except DomainError as exc:
            if action == "delete":
                delete_error = exc.message
            else:
                form.add_domain_error(exc)
    return render(
        request,
        "customers/tag_edit.html",
        {
            "tag": tag,
            "form": form,
            "count": count,
            "has_children": has_children,
            "rights": rights,
            "delete_error": delete_error,
        },
        status=400 if form.errors or delete_error else 200,
    )


# ---------------------------------------------------------------- collaboration requests


@login_required
def collaboration_inbox_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    # The decider owns the customer or manages its owner (or is an admin): it is visible.
    rows = [
        {"req": r, "customer": present(actor, r.customer, ["name"])}
        for r in selectors.collaboration_requests_pending(actor=actor)
    ]
    return render(request, "customers/collaboration_inbox.html", {"rows": rows})


@login_required
@require_POST
def collaboration_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, _("请选择同意或拒绝"))
        return redirect("collaboration_inbox")
    try:
        req = services.collaboration_request_decide(
            actor=request.user, request_id=pk, approve=decision == "approve"
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if decision == "approve":
            messages.success(
                request,
                _("已同意 %(user)s 协作客户「%(customer)s」")
                % {"user": req.requester.name, "customer": req.customer.name},
            )
        else:
            messages.info(request, _("已拒绝 %s 的协作申请") % req.requester.name)
    return redirect(safe_next(request, reverse("collaboration_inbox")))


# ---------------------------------------------------------------- custom fields (admins)


def _entity_or_404(entity: str) -> dict[str, Any]:
    info = ENTITIES_WITH_CUSTOM_FIELDS.get(entity)
    if info is None:
        raise Http404()
    return info


@_admin_required
def custom_field_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    entity = request.GET.get("entity") or request.POST.get("entity") or "customer"
    info = _entity_or_404(entity)
    form = CustomFieldForm(
        request.POST or None,
        statuses=list(info["statuses"]),
        creating=True,
        initial={"filterable": True, "is_active": True, "order": 0},
    )
    if request.method == "POST" and form.is_valid():
        try:
            field = custom_field_create(
                actor=actor, entity=entity, key=form.cleaned_data["key"], **form.service_data()
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已添加字段「%s」") % field.label)
            return redirect(reverse("custom_field_list") + f"?entity={entity}")
    fields = get_or_404(selectors.custom_field_admin_list, actor=actor, entity=entity)
    statuses = {str(k): v for k, v in info["statuses"]}
    return render(
        request,
        "customers/custom_field_list.html",
        {
            "entity": entity,
            "entity_label": info["label"],
            "entities": [(k, v["label"]) for k, v in ENTITIES_WITH_CUSTOM_FIELDS.items()],
            "fields": [
                {"def": f, "required_from": statuses.get(f.required_from, "")} for f in fields
            ],
            "form": form,
        },
        status=400 if form.errors else 200,
    )


@_admin_required
def custom_field_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    field = get_or_404(selectors.custom_field_admin_get, actor=actor, field_id=pk)
    info = _entity_or_404(field.entity)
    initial = {
        "label": field.label,
        "type": field.type,
        "choices": "\n".join(field.choices or []),
        "help_text": field.help_text,
        "required_from": field.required_from,
        "filterable": field.filterable,
        "order": field.order,
        "is_active": field.is_active,
        "version": field.version,
    }
    form = CustomFieldForm(
        request.POST or None, initial=initial, statuses=list(info["statuses"]), creating=False
    )
    if request.method == "POST" and form.is_valid():
        try:
            custom_field_update(
                actor=actor,
                field=field,
                expected_version=form.cleaned_data.get("version"),
                **form.service_data(),
            )
        except StaleVersion as exc:
            # Keep what the user typed; the next save goes against the current version.
            data = request.POST.copy()
            data["version"] = str(exc.current.get("version", ""))
            form = CustomFieldForm(
                data, initial=initial, statuses=list(info["statuses"]), creating=False
            )
            form.is_valid()
            form.add_error(None, exc.message)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("已保存字段「%s」") % field.label)
            return redirect(reverse("custom_field_list") + f"?entity={field.entity}")
    return render(
        request,
        "customers/custom_field_edit.html",
        {"field": field, "form": form, "entity_label": info["label"]},
        status=400 if form.errors else 200,
    )


# ---------------------------------------------------------------- customer settings (admins)


def _completeness_choices() -> list[tuple[str, Any]]:
    choices: list[tuple[str, Any]] = list(config.COMPLETENESS_CHOICES)
    for d in selectors.custom_fields_for("customer"):
        choices.append((f"custom.{d.key}", _("自定义：%s") % d.label))
    return choices


@_admin_required
def customer_settings_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    action = request.POST.get("action", "save")
    rules = config.pool_rules()
    initial = {
        "levels": "\n".join(config.levels()),
        "completeness_fields": config.completeness_fields(),
        **{
            k: rules.get(k)
            for k in (
                "enabled",
                "protection_days",
                "no_follow_up_days",
                "no_won_days",
                "claim_limit",
            )
        },
    }
    form = CustomerSettingsForm(
        request.POST if request.method == "POST" and action == "save" else None,
        initial=initial,
        completeness_choices=_completeness_choices(),
    )
    if request.method == "POST":
        if action == "apply":
            result = services.pool_apply_rules(now=timezone.now())
            if not config.pool_rules().get("enabled", True):
                messages.warning(request, _("公海自动退回规则未启用，没有退回任何客户"))
            else:
                messages.success(
                    request, _("已按规则退回公海 %(n)d 个客户") % {"n": len(result.released)}
                )
            return redirect("customer_settings")
        if form.is_valid():
            try:
                services.customer_settings_update(
                    actor=actor,
                    levels=form.level_list(),
                    completeness_fields=form.cleaned_data["completeness_fields"],
                    pool=form.pool(),
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("客户设置已保存"))
                return redirect("customer_settings")
    preview_form = PoolPreviewForm(request.GET or None)
    as_of = None
    if preview_form.is_bound and preview_form.is_valid():
        as_of = preview_form.cleaned_data["as_of"]
    preview = selectors.pool_preview(actor=actor, now=as_of or timezone.now())
    if not preview_form.is_bound:
        preview_form = PoolPreviewForm(initial={"as_of": timezone.localtime(preview["at"])})
    return render(
        request,
        "customers/customer_settings.html",
        {"form": form, "preview_form": preview_form, "preview": preview},
        status=400 if form.errors else 200,
    )


# ---------------------------------------------------------------- handover (admins)


@_admin_required
def handover_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    form = HandoverForm(
        request.POST or None,
        users=sorted(user_list(actor=actor), key=lambda u: (not u.is_active, u.username)),
        receivers=user_choices(actor=actor),
    )
    plan = None
    if request.method == "POST" and form.is_valid():
        from_user = form.cleaned_data["from_user"]
        to_users = form.cleaned_data["to_users"]
        try:
            if request.POST.get("action") == "execute":
                batch = services.handover_execute(
                    actor=actor,
                    from_user=from_user,
                    to_users=to_users,
                    reason=form.cleaned_data["reason"],
                )
                messages.success(
                    request,
                    _("交接完成：%(n)d 个客户及其 %(c)d 个联系人已从 %(user)s 移交")
                    % {
                        "n": batch.summary.get("customers", 0),
                        "c": batch.summary.get("contacts", 0),
                        "user": from_user.name,
                    },
                )
                return redirect(reverse("handover") + f"#batch-{batch.pk}")
            plan = _handover_plan(actor, from_user, to_users)
        except DomainError as exc:
            form.add_domain_error(exc)
    return render(
        request,
        "customers/handover.html",
        {"form": form, "plan": plan, "batches": _handover_batches(actor)},
        status=400 if form.errors else 200,
    )


def _handover_plan(actor: Any, from_user: Any, to_users: list[Any]) -> dict[str, Any]:
    plan = services.handover_preview(actor=actor, from_user=from_user, to_users=to_users)
    contacts = selectors.handover_contact_counts(actor=actor, from_user=from_user)
    per_user = {u.pk: {"user": u, "customers": 0, "contacts": 0} for u in to_users}
    for customer, receiver in plan.assignments:
        per_user[receiver.pk]["customers"] += 1
        per_user[receiver.pk]["contacts"] += contacts.get(customer.pk, 0)
    return {
        "from_user": from_user,
        "total": len(plan.assignments),
        "contacts": plan.contacts,
        "others": plan.others,
        "any": bool(plan.assignments or plan.others),
        "receivers": list(per_user.values()),
        "sample": plan.assignments[:50],
    }


def _handover_batches(actor: Any) -> list[dict[str, Any]]:
    batches = selectors.handover_batches(actor=actor)
    ids = {int(k) for b in batches for k in (b.summary.get("to") or {})}
    names = user_names(actor=actor, ids=list(ids))
    return [
        {
            "batch": b,
            "to": [
                {"name": names.get(int(k), f"#{k}"), "count": n}
                for k, n in (b.summary.get("to") or {}).items()
            ],
            "undo": b.summary.get("undo") or {},
        }
        for b in batches
    ]


@_admin_required
@require_POST
def handover_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        batch = services.handover_undo(actor=request.user, batch_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        undo = batch.summary.get("undo") or {}
        messages.success(
            request,
            _(
                "已撤销交接：%(restored)d 个客户还给了 %(user)s；"
                "%(skipped)d 个客户的负责人已变更，保持不变"
            )
            % {
                "restored": undo.get("restored", 0),
                "skipped": undo.get("skipped", 0),
                "user": batch.from_user.name,
            },
        )
    return redirect(reverse("handover") + f"#batch-{pk}")
