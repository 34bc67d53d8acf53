"""Import batches (one per uploaded file and run), their per-row results, mapping templates."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BatchStatus(models.TextChoices):
    UPLOADED = "uploaded", _("已上传")
    CHECKING = "checking", _("试运行中")
    CHECKED = "checked", _("已试运行")
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("导入中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("已中断")
    ROLLING_BACK = "rolling_back", _("回滚中")
    ROLLED_BACK = "rolled_back", _("已回滚")


class RowAction(models.TextChoices):
    CREATE = "create", _("新建")
    UPDATE = "update", _("更新")
    MERGE = "merge", _("合并")
    DUPLICATE = "duplicate", _("疑似重复")
    REJECT = "reject", _("拒绝")
    SKIP = "skip", _("跳过")


class MergeMode(models.TextChoices):
    MERGE = "merge", _("合并：只补充空白字段（默认）")
    UPDATE = "update", _("更新：用文件中的值覆盖已有值")
    SKIP = "skip", _("跳过：已存在的记录不做改动")


class ImportBatch(models.Model):
    """One import of one file: what was uploaded, how it is mapped, where the run stands.

    A run commits in chunks; `last_row` is the last source row whose chunk committed, so
    a crashed run resumes after it (or is rolled back: every written record is listed on
    its ImportRow).
    """

    entity = models.CharField(_("导入对象"), max_length=30)
    status = models.CharField(
        _("状态"), max_length=20, choices=BatchStatus.choices, default=BatchStatus.UPLOADED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="import_batches",
        verbose_name=_("导入人"),
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    file_name = models.CharField(_("文件名"), max_length=200)
    file_size = models.PositiveBigIntegerField(default=0)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    file_format = models.CharField(_("格式"), max_length=10)
    encoding = models.CharField(_("编码"), max_length=30, blank=True)
    headers = models.JSONField(default=list)
    # Column index (as a string) → target field key ("" = ignored).
    mapping = models.JSONField(default=dict)
    # mode (MergeMode), where {field: value}, new_custom {column index: label}, template name.
    options = models.JSONField(default=dict)
    migration = models.CharField(_("迁移批次"), max_length=100, blank=True, db_index=True)
    file_messages = models.JSONField(default=list)
    source_rows = models.PositiveIntegerField(_("文件数据行数"), default=0)
    total_rows = models.PositiveIntegerField(_("本批次行数"), default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    last_row = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict)
    dry_run_summary = models.JSONField(default=dict)
    # A batch made only to check a file (`crm import --dry-run`): it can never run.
    dry_run_only = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rolled_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rollback_summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("导入批次")
        verbose_name_plural = _("导入批次")
        indexes = [models.Index(fields=["created_by", "id"], name="importbatch_user")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name}"

    @property
    def progress(self) -> int:
        """Per cent of the current phase: rows read (dry run, run) or rows undone (rollback)."""
        whole = self.total_rows if self.status == BatchStatus.ROLLING_BACK else self.source_rows
        if not whole:
            return 100 if self.status in (BatchStatus.DONE, BatchStatus.ROLLED_BACK) else 0
        return min(100, round(self.processed_rows * 100 / whole))

    @property
    def is_active(self) -> bool:
        return self.status in (
            BatchStatus.CHECKING,
            BatchStatus.QUEUED,
            BatchStatus.RUNNING,
            BatchStatus.ROLLING_BACK,
        )


class RowPhase(models.TextChoices):
    DRY = "dry", _("试运行")
    RUN = "run", _("导入")


class ImportRow(models.Model):
    """The result of one source row: what was decided, the cleaned values, why, and what
    was written (ids created, values before an update) so the batch can be rolled back."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rows")
    phase = models.CharField(max_length=3, choices=RowPhase.choices, default=RowPhase.RUN)
    row = models.PositiveIntegerField(_("行号"))
    action = models.CharField(_("处理结果"), max_length=10, choices=RowAction.choices)
    values = models.JSONField(default=dict)
    messages = models.JSONField(default=list)
    fingerprint = models.CharField(max_length=64, db_index=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    # {"customer": [ids], "contact": [ids], ...}: records this row created.
    created = models.JSONField(default=dict)
    # [{"entity", "id", "before": {...}, "after": {...}}]: records this row changed.
    changed = models.JSONField(default=dict)
    # Duplicate candidates: [{"id", "name", "score", "reasons"}].
    candidates = models.JSONField(default=list)
    undone = models.BooleanField(default=False)

    class Meta:
        ordering = ["row"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "phase", "row"], name="importrow_unique")
        ]
        indexes = [
            models.Index(fields=["batch", "phase", "action", "row"], name="importrow_action")
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.row} {self.action}"


class MappingTemplate(models.Model):
    """A saved column mapping: header text → target field, per entity."""

    entity = models.CharField(_("导入对象"), max_length=30)
    name = models.CharField(_("名称"), max_length=100)
    mapping = models.JSONField(default=dict)
    options = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Shared templates are offered to everyone who may import the entity.
    shared = models.BooleanField(_("共享给所有人"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["entity", "name"]
        verbose_name = _("映射模板")
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "name", "created_by"], name="mappingtemplate_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name
