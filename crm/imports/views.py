"""The import wizard: upload → mapping → preview → dry run → run (progress) → report; plus
the reconciliation of a staged migration and the import settings.

Thin: a form parses the input, one service or selector does the work, a template renders it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access.visibility import is_admin
from crm.core.errors import DomainError, NotFound
from crm.core.pagination import paginate
from crm.customers.normalize import phone_display
from crm.imports import config, selectors, services
from crm.imports.adapters import adapter_get, adapters
from crm.imports.forms import ImportSettingsForm, MappingForm, UploadForm
from crm.imports.models import BatchStatus, ImportBatch, RowAction

ROWS_PER_PAGE = 50
# Values shown in the preview and report tables, in this order (when the row has them).
PREVIEW_KEYS = {
    "customer": [
        "name",
        "contact.name",
        "contact.title",
        "contact.mobile",
        "contact.phone",
        "contact.email",
        "province",
        "city",
        "level",
    ],
    "contact": ["customer", "name", "title", "mobile", "phone", "email", "wechat"],
    "followup": ["customer", "kind", "at", "content", "contact"],
    "lead": ["name", "company", "mobile", "email", "province", "city", "source"],
    "opportunity": ["customer", "name", "amount", "stage", "expected_close_date"],
}
ACTION_COLORS = {
    RowAction.CREATE: "green",
    RowAction.UPDATE: "blue",
    RowAction.MERGE: "azure",
    RowAction.DUPLICATE: "orange",
    RowAction.REJECT: "red",
    RowAction.SKIP: "secondary",
}


def _batch(request: HttpRequest, pk: int) -> ImportBatch:
    try:
        return selectors.import_batch_get(actor=request.user, batch_id=pk)
    except NotFound as exc:
        raise Http404() from exc


def _owner_only(request: HttpRequest, batch: ImportBatch) -> None:
    """Changing a batch is its creator's (or an administrator's); a manager who can see a
    report-only batch of the team gets a 404 on the actions, as on a missing page."""
    try:
        services.batch_owner_check(request.user, batch)
    except NotFound as exc:
        raise Http404() from exc


def _entities_or_404(request: HttpRequest) -> list[Any]:
    entities = selectors.import_entities(actor=request.user)
    if not entities:
        raise Http404()
    return entities


def _field_groups(batch: ImportBatch) -> list[tuple[Any, list[tuple[str, Any]]]]:
    adapter = adapter_get(batch.entity)
    main: list[tuple[str, Any]] = []
    contact: list[tuple[str, Any]] = []
    custom: list[tuple[str, Any]] = []
    for f in adapter.fields():
        label = f"{f.label}{'（必填）' if f.required else ''}"
        if f.key.startswith("custom."):
            custom.append((f.key, label))
        elif f.key.startswith("contact."):
            contact.append((f.key, label))
        else:
            main.append((f.key, label))
    return [(adapter.label, main), (_("联系人"), contact), (_("自定义字段"), custom)]


@login_required
def import_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    entities = selectors.import_entities(actor=actor)
    qs = selectors.import_batches(actor=actor)
    try:
        page = paginate(qs, ordering=("-id",), cursor=request.GET.get("cursor"), limit=30)
    except DomainError:
        page = paginate(qs, ordering=("-id",), limit=30)
    if not entities and not page.items:
        raise Http404()
    labels = {a.key: a.label for a in adapters()}
    templates = [
        t for a in entities for t in selectors.mapping_templates(actor=actor, entity=a.key)
    ]
    for obj in [*page.items, *templates]:
        obj.entity_label = labels.get(obj.entity, obj.entity)
    return render(
        request,
        "imports/import_list.html",
        {
            "page": page,
            "entities": entities,
            "migrations": selectors.import_migrations(actor=actor),
            "templates": templates,
            "is_admin": is_admin(actor),
            "nav_current": "import_list",
        },
    )


@login_required
def import_new_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    entities = _entities_or_404(request)
    templates = [
        t for a in entities for t in selectors.mapping_templates(actor=actor, entity=a.key)
    ]
    initial = {"entity": request.GET.get("entity") or entities[0].key, "mode": "merge"}
    form = UploadForm(
        request.POST or None,
        request.FILES or None,
        entities=entities,
        templates=templates,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        template = next((t for t in templates if str(t.pk) == d.get("template")), None)
        upload = d["file"]
        try:
            services.upload_size_check(upload.size or 0)
            batch = services.import_upload(
                actor=actor,
                entity=d["entity"],
                file_name=upload.name,
                data=upload.read(),
                migration=d.get("migration") or "",
                template=template,
                mode=d["mode"],
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            return redirect("import_mapping", pk=batch.pk)
    return render(
        request,
        "imports/import_new.html",
        {"form": form, "nav_current": "import_list", "settings": config.import_settings()},
        status=400 if form.errors else 200,
    )


@login_required
def import_mapping_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.user
    batch = _batch(request, pk)
    _owner_only(request, batch)
    if batch.status not in (BatchStatus.UPLOADED, BatchStatus.CHECKED):
        return redirect("import_detail", pk=batch.pk)
    adapter = adapter_get(batch.entity)
    initial: dict[str, Any] = {f"col_{k}": v for k, v in batch.mapping.items()}
    initial["mode"] = batch.options.get("mode") or "merge"
    initial["where"] = "\n".join(
        f"{w['label']}={','.join(w['values'])}" for w in batch.options.get("where") or []
    )
    form = MappingForm(
        request.POST or None,
        headers=batch.headers,
        groups=_field_groups(batch),
        allow_new=is_admin(actor) and bool(adapter.custom_entity()),
        allow_shared=is_admin(actor),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        mapping, new = form.mapping()
        try:
            services.import_mapping_set(
                actor=actor,
                batch=batch,
                mapping=mapping,
                mode=form.cleaned_data["mode"],
                where=form.where_list(),
                new_custom=new or None,
                template_name=form.cleaned_data.get("save_as") or "",
                template_shared=bool(form.cleaned_data.get("template_shared")),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            return redirect("import_preview", pk=batch.pk)
    samples = batch.options.get("samples") or []
    sources = batch.options.get("sources") or {}
    columns = []
    for i, name in enumerate(form.column_names):
        values = [r[i] for r in samples if i < len(r) and r[i].strip()][:3]
        columns.append({"field": form[name], "samples": values, "source": sources.get(str(i), "")})
    return render(
        request,
        "imports/import_mapping.html",
        {
            "batch": batch,
            "form": form,
            "columns": columns,
            "adapter": adapter,
            "nav_current": "import_list",
        },
        status=400 if form.errors else 200,
    )


EXTRA_LABELS = {"branch": _("分支机构"), "custom": _("自定义字段")}


def _shown(key: str, value: Any) -> Any:
    if key.endswith(("mobile", "phone")) and isinstance(value, str) and value.startswith("+"):
        return phone_display(value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}={v}" for k, v in value.items())
    return value


def _row_view(row: Any, keys: list[str], labels: dict[str, str]) -> dict[str, Any]:
    values = row.values if hasattr(row, "values") else {}
    shown = [
        (labels.get(k) or EXTRA_LABELS.get(k, k), _shown(k, values.get(k)))
        for k in keys
        if values.get(k) not in (None, "", [], {})
    ]
    return {
        "number": row.number if hasattr(row, "number") else row.row,
        "action": row.action,
        "action_label": dict(RowAction.choices).get(row.action, row.action),
        "color": ACTION_COLORS.get(row.action, "secondary"),
        "values": shown,
        "messages": [
            *getattr(row, "errors", []),
            *(row.messages or []),
            *getattr(row, "notes", []),
        ],
        "target_id": getattr(row, "target_id", None),
        "candidates": getattr(row, "candidates", None) or [],
    }


@login_required
def import_preview_view(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(request, pk)
    _owner_only(request, batch)
    if request.method == "POST":
        try:
            services.import_dry_run(actor=request.user, batch=batch)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("import_preview", pk=batch.pk)
        return redirect("import_detail", pk=batch.pk)
    if batch.status not in (BatchStatus.UPLOADED, BatchStatus.CHECKED):
        return redirect("import_detail", pk=batch.pk)
    adapter = adapter_get(batch.entity)
    labels = {f.key: str(f.label) for f in adapter.fields()}
    keys = PREVIEW_KEYS.get(batch.entity, [])
    try:
        rows = selectors.import_preview(batch=batch, limit=20)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("import_mapping", pk=batch.pk)
    return render(
        request,
        "imports/import_preview.html",
        {
            "batch": batch,
            "rows": [_row_view(r, list(dict.fromkeys([*keys, *r.values])), labels) for r in rows],
            "nav_current": "import_list",
        },
    )


def _detail_context(request: HttpRequest, batch: ImportBatch) -> dict[str, Any]:
    phase = selectors.batch_phase(batch)
    summary = batch.dry_run_summary if phase == "dry" else batch.summary
    return {
        "batch": batch,
        "phase": phase,
        "summary": summary or {},
        "mine": batch.created_by_id == request.user.pk or is_admin(request.user),
        "stale": services.batch_is_stale(batch),
        "nav_current": "import_list",
    }


@login_required
def import_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(request, pk)
    context = _detail_context(request, batch)
    if request.GET.get("fragment") == "status":
        response = render(request, "imports/_batch_status.html", context)
        if not batch.is_active and request.GET.get("was") == "active":
            response["HX-Refresh"] = "true"  # finished: show the whole report
        return response
    action = request.GET.get("action") or ""
    if action not in RowAction.values:
        action = ""
    qs = selectors.import_rows(batch=batch, phase=context["phase"], action=action or None)
    try:
        page = paginate(
            qs, ordering=("row",), cursor=request.GET.get("cursor"), limit=ROWS_PER_PAGE
        )
    except DomainError:
        page = paginate(qs, ordering=("row",), limit=ROWS_PER_PAGE)
    adapter = adapter_get(batch.entity)
    labels = {f.key: str(f.label) for f in adapter.fields()}
    keys = PREVIEW_KEYS.get(batch.entity, [])
    counts = selectors.import_action_counts(batch=batch, phase=context["phase"])
    context.update(
        rows=[_row_view(r, list(dict.fromkeys([*keys, *r.values])), labels) for r in page.items],
        page=page,
        action=action,
        tabs=[
            {
                "key": key,
                "label": label,
                "count": counts.get(key, 0),
                "color": ACTION_COLORS[RowAction(key)],
            }
            for key, label in RowAction.choices
        ],
        total=sum(counts.values()),
        adapter=adapter,
    )
    return render(request, "imports/import_detail.html", context)


def _batch_action(fn: Callable[..., Any], done: str) -> Callable[[HttpRequest, int], HttpResponse]:
    @login_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        batch = _batch(request, pk)
        _owner_only(request, batch)
        try:
            fn(actor=request.user, batch=batch)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
        return redirect("import_detail", pk=batch.pk)

    return view


import_run_view = _batch_action(
    services.import_start, _("已开始导入，可以离开本页，完成后在「数据导入」中查看报告")
)
import_resume_view = _batch_action(services.import_resume, _("已继续导入"))
import_rollback_view = _batch_action(
    services.import_rollback, _("已开始回滚：本批次新建的记录移入回收站，修改的字段恢复原值")
)
import_dry_run_view = _batch_action(services.import_dry_run, _("已开始试运行"))


@login_required
def import_report_view(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in ("xlsx", "json"):
        raise Http404()
    batch = _batch(request, pk)
    phase = request.GET.get("phase") if request.GET.get("phase") in ("dry", "run") else None
    if fmt == "xlsx":
        from crm.imports.report import report_xlsx

        response = HttpResponse(
            report_xlsx(batch, phase),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(
            services.report_json_dump(selectors.import_report(batch=batch, phase=phase)),
            content_type="application/json; charset=utf-8",
        )
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-report.{fmt}"'
    return response


@login_required
def import_migration_view(request: HttpRequest, label: str) -> HttpResponse:
    try:
        report = selectors.import_reconciliation(actor=request.user, migration=label)
    except NotFound as exc:
        raise Http404() from exc
    return render(
        request, "imports/import_migration.html", {"report": report, "nav_current": "import_list"}
    )


@login_required
@require_POST
def import_template_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.mapping_template_delete(actor=request.user, template_id=pk)
    except NotFound as exc:
        raise Http404() from exc
    messages.success(request, _("映射模板已删除"))
    return redirect(reverse("import_list"))


@login_required
def import_settings_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not is_admin(actor):
        raise Http404()
    current = config.import_settings()
    initial = {
        k: current[k]
        for k in ("max_file_mb", "max_rows", "max_cell_chars", "fuzzy_threshold", "company_suffix")
    }
    initial["extra_titles"] = " ".join(current.get("extra_titles") or [])
    initial.update({f"rule_{k}": v for k, v in (current.get("rules") or {}).items()})
    form = ImportSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.import_settings_update(actor=actor, values=form.values())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("导入设置已保存"))
            return redirect("import_settings")
    return render(
        request,
        "imports/import_settings.html",
        {"form": form, "nav_current": "import_settings"},
        status=400 if form.errors else 200,
    )
