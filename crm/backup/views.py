"""The backup page (系统管理 → 备份与恢复): schedule, retention, target directory, the last
results, and a button for a backup now. Administrators only (others get a 404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access.visibility import is_admin
from crm.backup import config
from crm.backup.forms import BackupSettingsForm
from crm.backup.health import backup_state
from crm.backup.selectors import backup_runs
from crm.backup.services import backup_files, backup_now, backup_settings_update
from crm.core.config import setting_version
from crm.core.errors import DomainError


def _admin_or_404(actor: Any) -> None:
    if not is_admin(actor):
        raise Http404()


@login_required
def backup_settings_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _admin_or_404(actor)
    current = config.schedule()
    initial = {
        "enabled": bool(current.get("enabled")),
        "time_of_day": current.get("time") or "02:30",
        "keep": current.get("keep") or 7,
        "directory": current.get("directory") or "",
        "version": setting_version(config.SCHEDULE),
    }
    form = BackupSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            backup_settings_update(
                actor=actor,
                enabled=bool(data.get("enabled")),
                time_of_day=data["time_of_day"],
                keep=data["keep"],
                directory=data.get("directory") or "",
                expected_version=data.get("version"),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("备份设置已保存"))
            return redirect("backup_settings")
    context = {
        "form": form,
        "runs": backup_runs(actor=actor),
        "files": backup_files(),
        "directory": config.target_directory(),
        "default_directory": config.default_directory(),
        "state": backup_state(),
        "nav_current": "backup_settings",
    }
    return render(
        request,
        "backup/backup_settings.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def backup_now_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    _admin_or_404(actor)
    try:
        backup_now(actor=actor)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已开始备份，完成后刷新本页查看结果"))
    return redirect("backup_settings")
