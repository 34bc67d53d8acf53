"""Pages of the duplicate queue: list, side-by-side comparison, merge, merge records, undo.

Thin: parse input, call one selector or service, render. A pair or merge outside the
actor's scope is a 404.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access.fieldsec import present
from crm.access.visibility import can
from crm.core.errors import DomainError, NotFound
from crm.core.pagination import paginate
from crm.customers.selectors import customer_get
from crm.dedupe import selectors
from crm.dedupe.forms import DismissForm, MergeForm
from crm.dedupe.models import DuplicatePair, MergeRecord, PairStatus
from crm.dedupe.services import (
    customer_merge,
    customer_merge_undo,
    duplicate_pair_dismiss,
    merge_can_undo,
)

STATUSES = [
    (PairStatus.OPEN, _("待处理")),
    (PairStatus.DISMISSED, _("不是重复")),
    (PairStatus.MERGED, _("已合并")),
    (PairStatus.OBSOLETE, _("已失效")),
]


def _require_reviewer(request: HttpRequest) -> None:
    if not can(request.user, "view", DuplicatePair):
        raise Http404()


def _customer(actor: Any, pk: Any) -> Any:
    try:
        return customer_get(actor=actor, customer_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _name(actor: Any, customer: Any) -> str:
    return str(present(actor, customer, ["name"]).get("name") or "—")


@login_required
def duplicate_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _require_reviewer(request)
    status = request.GET.get("status") or PairStatus.OPEN
    if status not in PairStatus.values:
        status = PairStatus.OPEN
    try:
        page = paginate(
            selectors.duplicate_pairs(actor=actor, status=status),
            ordering=("-score", "-id"),
            cursor=request.GET.get("cursor") or None,
            limit=25,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("duplicate_list")
    rows = [{"pair": p, "a": _name(actor, p.a), "b": _name(actor, p.b)} for p in page.items]
    return render(
        request,
        "dedupe/duplicate_list.html",
        {
            "rows": rows,
            "page": page,
            "status": status,
            "statuses": STATUSES,
            "can_edit": can(actor, "edit", DuplicatePair),
        },
    )


def _compare_page(
    request: HttpRequest, a: Any, b: Any, pair: DuplicatePair | None, form: MergeForm | None = None
) -> HttpResponse:
    actor = request.user
    try:
        comparison = selectors.merge_compare(actor=actor, a=a, b=b)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    choosable = [r.field for r in comparison.rows if r.choosable]
    if form is None:
        initial: dict[str, Any] = {
            "a": a.pk,
            "b": b.pk,
            "a_version": a.version,
            "b_version": b.version,
            "pair": pair.pk if pair else None,
            "survivor": comparison.survivors[0] if comparison.survivors else "a",
        }
        for row in comparison.rows:
            if row.choosable:
                initial[f"f_{row.field}"] = row.default
        form = MergeForm(initial=initial, fields=choosable)
    rows: list[dict[str, Any]] = [
        {
            "row": r,
            "field": form[f"f_{r.field}"] if r.choosable else None,
            "options": [("a", r.a), ("b", r.b)],
        }
        for r in comparison.rows
    ]
    return render(
        request,
        "dedupe/compare.html",
        {
            "pair": pair,
            "a": a,
            "b": b,
            "a_name": _name(actor, a),
            "b_name": _name(actor, b),
            "comparison": comparison,
            "rows": rows,
            "differing": [r for r in rows if r["row"].differs],
            "same": [r for r in rows if not r["row"].differs],
            "form": form,
            "can_edit": can(actor, "edit", DuplicatePair),
        },
        status=422 if form.is_bound else 200,
    )


@login_required
def duplicate_pair_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reviewer(request)
    try:
        pair = selectors.duplicate_pair_get(actor=request.user, pair_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return _compare_page(request, pair.a, pair.b, pair)


@login_required
def duplicate_compare_view(request: HttpRequest) -> HttpResponse:
    """Any two customers side by side (?a=&b=), e.g. from a customer found twice."""
    _require_reviewer(request)
    a = _customer(request.user, request.GET.get("a"))
    b = _customer(request.user, request.GET.get("b"))
    if a.pk == b.pk:
        raise Http404()
    return _compare_page(request, a, b, None)


@login_required
@require_POST
def duplicate_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_reviewer(request)
    try:
        pair = selectors.duplicate_pair_get(actor=request.user, pair_id=pk)
        form = DismissForm(request.POST)
        note = form.cleaned_data["note"] if form.is_valid() else ""
        duplicate_pair_dismiss(actor=request.user, pair=pair, note=note)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("duplicate_list")
    messages.success(request, _("已标记为“不是重复”，定期扫描不会再提示这一对"))
    return redirect("duplicate_list")


@login_required
@require_POST
def customer_merge_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _require_reviewer(request)
    a = _customer(actor, request.POST.get("a"))
    b = _customer(actor, request.POST.get("b"))
    pair = None
    if request.POST.get("pair"):
        try:
            pair = selectors.duplicate_pair_get(actor=actor, pair_id=request.POST.get("pair"))
        except NotFound as exc:
            raise Http404(exc.message) from exc
    comparison = selectors.merge_compare(actor=actor, a=a, b=b)
    form = MergeForm(request.POST, fields=[r.field for r in comparison.rows if r.choosable])
    if not form.is_valid():
        return _compare_page(request, a, b, pair, form)
    survivor, loser = (a, b) if form.cleaned_data["survivor"] == "a" else (b, a)
    versions = {"a": form.cleaned_data.get("a_version"), "b": form.cleaned_data.get("b_version")}
    keep = form.cleaned_data["survivor"]
    try:
        record = customer_merge(
            actor=actor,
            survivor=survivor,
            loser=loser,
            choices=form.choices(),
            survivor_version=versions[keep],
            loser_version=versions["b" if keep == "a" else "a"],
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _compare_page(request, a, b, pair, form)
    messages.success(
        request,
        _("已合并：「%(loser)s」并入「%(survivor)s」，被合并的客户已放入回收站。可以撤销。")
        % {"loser": loser.name, "survivor": survivor.name},
    )
    return redirect("merge_detail", pk=record.pk)


def _moved_rows(record: MergeRecord) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for key, ids in record.moved.items():
        label, _sep, _field = key.rpartition(".")
        try:
            model = apps.get_model(label)
            name = str(model._meta.verbose_name)
        except LookupError:
            name = label
        out.append((name, len(ids)))
    return out


@login_required
def merge_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    try:
        record = selectors.merge_get(actor=actor, merge_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    changes = selectors.merge_changes(actor=actor, record=record)
    return render(
        request,
        "dedupe/merge_detail.html",
        {
            "record": record,
            "changes": changes,
            "moved": _moved_rows(record),
            "can_undo": merge_can_undo(actor, record),
        },
    )


@login_required
def merge_list_view(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request)
    records = selectors.merge_records(actor=request.user)
    return render(request, "dedupe/merge_list.html", {"records": records})


@login_required
@require_POST
def merge_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    try:
        record = selectors.merge_get(actor=actor, merge_id=pk)
        customer_merge_undo(actor=actor, merge=record)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("merge_detail", pk=pk)
    messages.success(request, _("已撤销合并，两个客户及其记录已恢复原样"))
    return redirect(reverse("merge_detail", args=[pk]))
