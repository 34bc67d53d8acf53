"""The forecast page and the sales-target grid: thin, over crm.forecast.selectors and
crm.forecast.services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.errors import DomainError
from crm.forecast.forms import ForecastFilterForm
from crm.forecast.selectors import (
    Forecast,
    ForecastRow,
    forecast,
    forecast_team_choices,
    period_resolve,
    target_can_set,
    target_grid,
)
from crm.forecast.services import targets_save

OWNER_PAGE = 50


def money(value: Decimal | None) -> str:
    """¥ without the fen, thousands separated: 1,234,568 (blank for no value)."""
    if value is None:
        return ""
    return f"{value.quantize(Decimal('1')):,}"


def _attainment(value: Decimal | None) -> tuple[str, str]:
    if value is None:
        return "", ""
    if value >= 100:
        tone = "text-success"
    elif value >= 70:
        tone = "text-warning"
    else:
        tone = "text-danger"
    return f"{value}%", tone


def _row(row: ForecastRow, *, amounts: bool, link: str = "") -> dict[str, Any]:
    f = row.figures
    attainment, tone = _attainment(f.attainment) if amounts else ("", "")
    return {
        "label": row.label,
        "detail": row.team if row.owner_id else "",
        "link": link,
        "open_count": f.open_count,
        "won_count": f.won_count,
        "weighted": money(f.weighted) if amounts else "****",
        "commit": money(f.commit) if amounts else "****",
        "best": money(f.best) if amounts else "****",
        "pipeline": money(f.pipeline) if amounts else "****",
        "won": money(f.won) if amounts else "****",
        "target": money(f.target) if amounts else "****",
        "attainment": attainment,
        "tone": tone,
    }


def _chart(fc: Forecast) -> dict[str, Any]:
    def series(name: str) -> list[float | None]:
        out: list[float | None] = []
        for r in fc.months:
            value = getattr(r.figures, name)
            out.append(None if value is None else float(value))
        return out

    return {
        "months": [r.label for r in fc.months],
        "series": [
            {"key": "weighted", "name": _("加权金额"), "type": "bar", "data": series("weighted")},
            {"key": "commit", "name": _("承诺"), "type": "bar", "data": series("commit")},
            {"key": "best", "name": _("乐观（含承诺）"), "type": "bar", "data": series("best")},
            {"key": "won", "name": _("已赢单"), "type": "bar", "data": series("won")},
            {"key": "target", "name": _("目标"), "type": "line", "data": series("target")},
        ],
        "unit": _("万元"),
    }


def _default_group(actor: Any, form: ForecastFilterForm) -> str:
    if not form.show_people:
        return "month"
    return "team" if len(forecast_team_choices(actor=actor)) > 1 else "owner"


@login_required
def forecast_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    form = ForecastFilterForm(request.GET or None, actor=actor)
    group = form.value("group") or _default_group(actor, form)
    fc: Forecast | None = None
    errors: dict[str, str] = {}
    try:
        period = period_resolve(
            period=form.value("period"),
            month_from=form.value("month_from"),
            month_to=form.value("month_to"),
        )
        fc = forecast(
            actor=actor,
            period=period,
            group=group,
            pipeline=form.value("pipeline"),
            owner=form.value("owner"),
            team=form.value("team"),
        )
    except DomainError as exc:
        errors = {e.get("field", ""): e.get("message", "") for e in exc.errors} or {"": exc.message}
    context: dict[str, Any] = {
        "form": form,
        "group": group,
        "fc": fc,
        "errors": errors,
        "can_set_targets": target_can_set(actor),
    }
    if fc is not None:
        amounts = fc.amounts_visible
        rows = fc.rows
        page_count = 1
        page = 1
        if group == "owner" and len(rows) > OWNER_PAGE:
            try:
                page = max(int(request.GET.get("page", "1")), 1)
            except ValueError:
                page = 1
            page_count = (len(rows) + OWNER_PAGE - 1) // OWNER_PAGE
            page = min(page, page_count)
            rows = rows[(page - 1) * OWNER_PAGE : page * OWNER_PAGE]
        base = {k: v for k, v in request.GET.items() if k not in ("page", "owner", "team", "group")}
        shown = []
        for r in rows:
            link = ""
            if r.owner_id:
                link = "?" + urlencode({**base, "owner": r.owner_id, "group": "month"})
            elif group == "team" and r.team_id:
                link = "?" + urlencode({**base, "team": r.team_id, "group": "owner"})
            shown.append(_row(r, amounts=amounts, link=link))
        query = {k: v for k, v in request.GET.items() if k != "page"}
        context.update(
            rows=shown,
            totals=_row(
                ForecastRow(key="total", label=_("合计"), figures=fc.totals), amounts=amounts
            ),
            chart=_chart(fc) if amounts else None,
            page=page,
            page_count=page_count,
            prev_url="?" + urlencode({**query, "page": page - 1}) if page > 1 else "",
            next_url="?" + urlencode({**query, "page": page + 1}) if page < page_count else "",
            row_count=len(fc.rows),
        )
    template = "forecast/forecast.html"
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "forecast-results" and not htmx.history_restore_request:
        template = "forecast/_forecast_results.html"
    return render(request, template, context, status=200 if fc is not None else 400)


# ---------------------------------------------------------------- targets


def _grid_values(post: Any) -> dict[str, dict[int, str]]:
    """t-u12-3=… → {"u12": {3: "…"}} (every submitted cell, blank ones included)."""
    values: dict[str, dict[int, str]] = {}
    for name, raw in post.items():
        parts = name.split("-")
        if len(parts) != 3 or parts[0] != "t" or not parts[2].isdigit():
            continue
        values.setdefault(parts[1], {})[int(parts[2])] = raw
    return values


@login_required
def targets_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    if not target_can_set(actor):
        raise Http404
    today = timezone.localdate()
    source = request.POST if request.method == "POST" else request.GET
    try:
        year = int(source.get("year") or today.year)
    except ValueError:
        year = today.year
    year = min(max(year, 2000), 2100)
    team = source.get("team") or ""
    try:
        page = max(int(source.get("page") or 1), 1)
    except ValueError:
        page = 1
    errors: dict[str, str] = {}
    submitted: dict[str, dict[int, str]] = {}
    status = 200
    if request.method == "POST":
        submitted = _grid_values(request.POST)
        try:
            changed = targets_save(actor=actor, year=year, values=submitted)
        except DomainError as exc:
            errors = {e.get("field", ""): e.get("message", "") for e in exc.errors}
            messages.error(request, exc.message)
            status = 400
        else:
            messages.success(request, _("已保存，%(n)d 个目标有变化") % {"n": changed})
            query = urlencode({"year": year, "team": team, "page": page})
            return redirect(f"{reverse('forecast_targets')}?{query}")
    try:
        dept_rows, people_rows, pages = target_grid(actor=actor, year=year, team=team, page=page)
    except DomainError as exc:
        dept_rows, people_rows, pages = [], [], 1
        messages.error(request, exc.message)
        status = 400

    def present(rows: list[Any]) -> list[dict[str, Any]]:
        out = []
        for r in rows:
            cells = []
            for month, value in r.cells:
                name = f"t-{r.key}-{month.month}"
                typed = submitted.get(r.key, {}).get(month.month)
                shown = (
                    typed
                    if typed is not None
                    else ("" if value is None else f"{value.normalize():f}")
                )
                cells.append(
                    {
                        "name": name,
                        "value": shown,
                        "month": month,
                        "error": errors.get(f"{r.key}-{month.month}", ""),
                    }
                )
            out.append(
                {
                    "key": r.key,
                    "label": r.label,
                    "detail": r.detail,
                    "cells": cells,
                    "total": money(r.total),
                }
            )
        return out

    months = [dt.date(year, m, 1) for m in range(1, 13)]
    teams = [
        (str(pk), "\u3000" * max(depth - 1, 0) + name)
        for pk, name, depth in forecast_team_choices(actor=actor)
    ]
    context = {
        "year": year,
        "years": [year - 1, year, year + 1],
        "team": team,
        "teams": teams,
        "months": months,
        "dept_rows": present(dept_rows),
        "people_rows": present(people_rows),
        "page": page,
        "pages": pages,
        "page_range": range(1, pages + 1),
    }
    return render(request, "forecast/targets.html", context, status=status)
