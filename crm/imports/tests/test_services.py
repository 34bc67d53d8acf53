"""The import engine: create / merge / update / skip, duplicates, re-runs, rollback, crashes,
staged migration, permissions, custom fields — through the services, against the database."""

from __future__ import annotations

import io
from typing import Any

import pytest

from crm.core.errors import PermissionDenied, ValidationFailed
from crm.customers.models import Contact, Customer, CustomerTag
from crm.customers.services import (
    completeness_compute,
    customer_create,
    customer_update,
    tag_create,
)
from crm.imports import services
from crm.imports.models import BatchStatus, ImportBatch, ImportRow
from crm.imports.services import (
    import_execute,
    import_mapping_set,
    import_resume,
    import_rollback,
    import_rollback_execute,
    import_start,
    import_upload,
)
from crm.imports.tests.conftest import by_row, csv_bytes, grant_import, report_of, run_import

pytestmark = pytest.mark.django_db

NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴霞"]
HEADER = [
    "客户名称",
    "统一社会信用代码",
    "行业",
    "客户级别",
    "省份",
    "城市",
    "联系人",
    "手机",
    "邮箱",
    "备注",
]
CODE_A = "914403001922038216"
CODE_B = "91330100716105852F"


def rows_csv(*rows: list[Any], header: list[str] = HEADER) -> bytes:
    return csv_bytes([header, *rows])


def rollback(actor: Any, batch: ImportBatch) -> ImportBatch:
    import_rollback(actor=actor, batch=batch, background=False)
    return import_rollback_execute(batch.pk)


def snapshot() -> dict[str, Any]:
    """Everything an import may touch, as values (alive records only)."""
    customers = {
        c.pk: {
            k: getattr(c, k)
            for k in (
                "name",
                "credit_code",
                "industry",
                "level",
                "province",
                "city",
                "notes",
                "custom",
                "owner_id",
            )
        }
        for c in Customer.objects.all()
    }
    contacts = {
        c.pk: {
            k: getattr(c, k)
            for k in ("customer_id", "name", "title", "mobile", "phone", "email", "wechat", "notes")
        }
        for c in Contact.objects.filter(customer__deleted_at__isnull=True)
    }
    tags = sorted(
        CustomerTag.objects.filter(customer__deleted_at__isnull=True).values_list(
            "customer_id", "tag_id"
        )
    )
    return {"customers": customers, "contacts": contacts, "tags": tags}


# ---------------------------------------------------------------- creating


def test_creates_customers_with_cleaned_values(org):
    data = rows_csv(
        [
            "杭州 海康测试 科技有限公司",
            CODE_A,
            "制造业",
            "A级",
            "浙江省",
            "杭州市",
            "王先生",
            "13812341234(微信同号)",
            "WANG@Example.com",
            "老客户",
        ],
        [
            "宁波测试贸易有限公司",
            "",
            "",
            "b",
            "浙江",
            "",
            "那个做建材的老李",
            "138xxxx1234",
            "",
            "",
        ],
        ["  ", "", "", "", "", "", "", "", "", ""],
        [
            "深圳测试电子有限公司",
            "",
            "",
            "",
            "广东省深圳市",
            "",
            "张总",
            "电话不通,建议邮件联系",
            "bad@@mail",
            "",
        ],
    )
    batch = run_import(org.admin, "customer", "a.csv", data)
    report = report_of(batch)
    assert report["summary"] == {
        "rows": 4,
        "created": 2,
        "updated": 0,
        "merged": 0,
        "duplicates": 0,
        "rejected": 1,
        "skipped": 1,
    }
    rows = by_row(report)
    assert (
        rows[2]["action"] == "create"
        and rows[3]["action"] == "reject"
        and rows[4]["action"] == "skip"
    )
    assert any("那个做建材的老李" in m for m in rows[3]["messages"])
    c = Customer.objects.get(credit_code=CODE_A)
    assert (c.name, c.level, c.province, c.city, c.owner_id) == (
        "杭州海康测试科技有限公司",
        "A",
        "浙江",
        "杭州",
        org.admin.pk,
    )
    contact = c.contacts.get()
    assert (contact.name, contact.mobile, contact.wechat, contact.email) == (
        "王",
        "+8613812341234",
        "13812341234",
        "wang@example.com",
    )
    assert "称呼：王先生" in contact.notes and contact.is_primary
    assert c.completeness == completeness_compute(c)
    shenzhen = Customer.objects.get(name="深圳测试电子有限公司")
    note = shenzhen.contacts.get().notes
    assert "电话不通,建议邮件联系" in note and "bad@@mail" in note
    assert shenzhen.contacts.get().email == ""
    # the customers app's side effects: timeline, search index, audit
    assert c.timeline_events.filter(kind="created").exists()
    from crm.audit.models import AuditEntry
    from crm.search.models import SearchEntry

    assert SearchEntry.objects.filter(entity="customer", object_id=c.pk).exists()
    assert SearchEntry.objects.filter(entity="contact", object_id=contact.pk).exists()
    assert AuditEntry.objects.filter(entity="customer", object_id=f"import:{batch.pk}").exists()


def test_dry_run_writes_nothing(org):
    before = snapshot()
    batch = run_import(
        org.admin,
        "customer",
        "a.csv",
        rows_csv(["杭州甲公司", "", "", "", "", "", "李四", "13900001111", "", ""]),
        dry_run=True,
    )
    assert batch.status == BatchStatus.CHECKED
    assert report_of(batch)["summary"]["created"] == 1
    assert snapshot() == before


def test_rerun_creates_nothing(org):
    data = rows_csv(
        ["杭州甲科技有限公司", "", "", "", "浙江", "杭州", "李四", "13900001111", "", ""],
        ["杭州乙科技有限公司", CODE_B, "", "", "", "", "王五", "13900002222", "", ""],
    )
    run_import(org.admin, "customer", "a.csv", data)
    before = snapshot()
    again = run_import(org.admin, "customer", "a.csv", data)
    assert report_of(again)["summary"]["skipped"] == 2
    assert snapshot() == before
    # the same companies written differently: matched by name key and credit code
    messy = rows_csv(
        ["杭州甲科技 有限公司", "", "", "", "", "", "李四", "139 0000 1111", "", ""],
        ["乙公司（新名称）", CODE_B, "", "", "", "", "", "", "", ""],
    )
    third = run_import(org.admin, "customer", "b.csv", messy)
    assert report_of(third)["summary"]["created"] == 0
    assert Customer.objects.count() == 2


# ---------------------------------------------------------------- existing records


def _existing(org: Any) -> Customer:
    return customer_create(
        actor=org.admin,
        data={"name": "杭州老客户科技有限公司", "industry": "制造", "province": "浙江"},
        contacts=[{"name": "赵六", "mobile": "13700001111"}],
    )


def test_merge_fills_empty_fields_and_never_overwrites(org):
    c = _existing(org)
    data = rows_csv(
        [
            "杭州老客户科技有限公司",
            "",
            "软件",
            "B",
            "",
            "杭州",
            "赵六",
            "13700001111",
            "zhao@example.com",
            "",
        ]
    )
    batch = run_import(org.admin, "customer", "a.csv", data)
    row = by_row(report_of(batch))[2]
    assert row["action"] == "merge"
    assert any("行业" in m and "保留原值" in m for m in row["messages"])
    c.refresh_from_db()
    assert (c.industry, c.level, c.city) == ("制造", "B", "杭州")
    contact = c.contacts.get()
    assert contact.email == "zhao@example.com"  # the same person (same mobile): email filled


def test_merge_adds_a_new_contact(org):
    c = _existing(org)
    batch = run_import(
        org.admin,
        "customer",
        "a.csv",
        rows_csv(["杭州老客户科技", "", "", "", "", "", "钱七", "13700002222", "", ""]),
    )
    assert by_row(report_of(batch))[2]["action"] == "merge"
    assert sorted(c.contacts.values_list("name", flat=True)) == ["赵六", "钱七"]


def test_update_mode_overwrites(org):
    c = _existing(org)
    batch = run_import(
        org.admin,
        "customer",
        "a.csv",
        rows_csv(["杭州老客户科技有限公司", "", "软件", "", "", "", "", "", "", ""]),
        mode="update",
    )
    assert by_row(report_of(batch))[2]["action"] == "update"
    c.refresh_from_db()
    assert c.industry == "软件"


def test_skip_mode_leaves_existing_alone(org):
    c = _existing(org)
    before = snapshot()
    batch = run_import(
        org.admin,
        "customer",
        "a.csv",
        rows_csv(["杭州老客户科技有限公司", "", "软件", "A", "", "", "", "", "", ""]),
        mode="skip",
    )
    assert by_row(report_of(batch))[2]["action"] == "skip"
    assert snapshot() == before
    assert c.pk


def test_same_information_is_a_skip(org):
    _existing(org)
    batch = run_import(
        org.admin,
        "customer",
        "a.csv",
        rows_csv(
            ["杭州老客户科技有限公司", "", "制造", "", "浙江", "", "赵六", "137 0000 1111", "", ""]
        ),
    )
    row = by_row(report_of(batch))[2]
    assert row["action"] == "skip" and any("无需更新" in m for m in row["messages"])


# ---------------------------------------------------------------- duplicates


def test_same_company_on_several_rows(org, monkeypatch):
    data = rows_csv(
        ["杭州多联系人科技有限公司", "", "", "", "浙江", "", "张三", "13800000001", "", ""],
        ["杭州多联系人科技有限公司", "", "软件", "", "", "", "李四", "13800000002", "", ""],
        ["杭州 多联系人科技", "", "", "", "", "", "王五", "13800000003", "", ""],
        ["杭州多联系人科技有限公司", "", "", "", "", "", "张三", "13800000001", "", ""],
    )
    batch = run_import(org.admin, "customer", "a.csv", data)
    rows = by_row(report_of(batch))
    assert [rows[n]["action"] for n in (2, 3, 4, 5)] == ["create", "merge", "merge", "skip"]
    c = Customer.objects.get()
    assert c.industry == "软件"
    assert sorted(c.contacts.values_list("name", flat=True)) == ["张三", "李四", "王五"]
    assert c.contacts.filter(is_primary=True).count() == 1


def test_same_company_across_chunks(org, monkeypatch):
    monkeypatch.setattr(services, "CHUNK", 2)
    data = rows_csv(
        *[
            ["杭州跨块科技有限公司", "", "", "", "", "", NAMES[i], f"1380000000{i}", "", ""]
            for i in range(5)
        ]
    )
    batch = run_import(org.admin, "customer", "a.csv", data)
    assert report_of(batch)["summary"]["created"] == 1
    assert Customer.objects.get().contacts.count() == 5


def test_same_phone_different_name_is_held_for_review(org):
    c = _existing(org)
    batch = run_import(
        org.admin,
        "customer",
        "a.csv",
        rows_csv(["宁波完全不同贸易有限公司", "", "", "", "", "", "赵六", "13700001111", "", ""]),
    )
    row = by_row(report_of(batch))[2]
    assert row["action"] == "duplicate"
    assert row["candidates"][0]["id"] == c.pk
    assert not Customer.objects.filter(name__startswith="宁波").exists()


def test_same_name_different_credit_code_is_not_merged(org):
    customer_create(actor=org.admin, data={"name": "杭州同名科技有限公司", "credit_code": CODE_A})
    batch = run_import(
        org.admin,
        "customer",
        "a.csv",
        rows_csv(["杭州同名科技有限公司", CODE_B, "", "", "", "", "", "", "", ""]),
    )
    row = by_row(report_of(batch))[2]
    assert row["action"] == "duplicate" and any("信用代码不同" in m for m in row["messages"])


def test_fuzzy_candidates_hold_the_row(org):
    existing = customer_create(
        actor=org.admin,
        data={"name": "杭州鑫盛电子科技有限公司", "province": "浙江", "city": "杭州"},
    )
    from crm.dedupe.blocking import keys_sync

    keys_sync()  # the dedupe app's blocking keys (kept in step in the background)
    batch = run_import(
        org.admin,
        "customer",
        "a.csv",
        rows_csv(["鑫盛电子科技有限公司", "", "", "", "浙江", "杭州", "", "", "", ""]),
    )
    row = by_row(report_of(batch))[2]
    assert row["action"] == "duplicate"
    assert row["candidates"][0]["id"] == existing.pk and row["candidates"][0]["score"] >= 85
    assert Customer.objects.count() == 1


@pytest.mark.parametrize("dry_run", [True, False])
def test_similar_names_within_the_file_hold_the_later_row(org, dry_run, monkeypatch):
    """杭州西湖电子科技有限公司 and 西湖电子科技（杭州）有限公司 differ in their name key (no exact
    in-file hit) but score 90: the later row is held back, in a dry run as in a real run,
    and whatever chunk the earlier row was in."""
    monkeypatch.setattr(services, "CHUNK", 2)  # the two similar rows in different chunks
    batch = run_import(
        org.admin,
        "customer",
        "a.csv",
        rows_csv(
            ["杭州西湖电子科技有限公司", "", "", "", "浙江", "杭州", "", "", "", ""],
            ["宁波港湾物流有限公司", "", "", "", "浙江", "宁波", "", "", "", ""],
            ["西湖电子科技（杭州）有限公司", "", "", "", "浙江", "杭州", "", "", "", ""],
        ),
        dry_run=dry_run,
    )
    rows = by_row(report_of(batch))
    assert rows[2]["action"] == "create" and rows[3]["action"] == "create"
    assert rows[4]["action"] == "duplicate"
    assert any("第 2 行" in m and "90" in m for m in rows[4]["messages"])
    assert Customer.objects.count() == (0 if dry_run else 2)


# ---------------------------------------------------------------- rollback


def test_rollback_restores_exactly(org):
    tag = tag_create(actor=org.admin, name="重点")
    _existing(org)
    before = snapshot()
    header = [*HEADER, "标签"]
    data = rows_csv(
        [
            "杭州老客户科技有限公司",
            CODE_A,
            "",
            "A",
            "",
            "杭州",
            "赵六",
            "13700001111",
            "zhao@example.com",
            "补充备注",
            "重点",
        ],
        ["杭州老客户科技有限公司", "", "", "", "", "", "新人", "13700003333", "", "", ""],
        ["全新客户有限公司", "", "", "", "", "", "孙八", "13600001111", "", "", "重点"],
        ["全新客户有限公司", "", "", "", "", "", "周九", "13600002222", "", "", ""],
        header=header,
    )
    batch = run_import(org.admin, "customer", "a.csv", data, mode="merge")
    assert snapshot() != before
    assert tag.pk
    done = rollback(org.admin, batch)
    assert done.status == BatchStatus.ROLLED_BACK and done.rollback_summary["failed"] == 0
    assert snapshot() == before
    gone = Customer.all_objects.get(name="全新客户有限公司")
    assert gone.deleted_at is not None  # in the recycle bin, restorable
    # rolled-back rows no longer count as imported: the same file can be imported again
    again = run_import(org.admin, "customer", "a.csv", data)
    assert report_of(again)["summary"]["created"] == 1


def test_rollback_keeps_fields_changed_after_the_import(org):
    c = _existing(org)
    batch = run_import(
        org.admin,
        "customer",
        "a.csv",
        rows_csv(["杭州老客户科技有限公司", "", "", "A", "", "杭州", "", "", "", ""]),
    )
    c.refresh_from_db()
    customer_update(actor=org.admin, customer=c, expected_version=c.version, data={"city": "宁波"})
    done = rollback(org.admin, batch)
    c.refresh_from_db()
    assert c.level == "" and c.city == "宁波"
    assert any("city" in p for p in done.rollback_summary["problems"])


def test_rollback_by_another_user_is_refused(org):
    grant_import(org.roles["sales_rep"], "customer")
    batch = run_import(
        org.zhang_wei,
        "customer",
        "a.csv",
        rows_csv(["杭州甲公司", "", "", "", "", "", "", "", "", ""]),
    )
    from crm.core.errors import NotFound

    with pytest.raises(NotFound):
        import_rollback(actor=org.wang_fang, batch=batch, background=False)
    assert rollback(org.admin, batch).status == BatchStatus.ROLLED_BACK


# ---------------------------------------------------------------- crashes


def test_crash_mid_way_leaves_whole_chunks_and_resumes(org, monkeypatch):
    from crm.imports.adapters_customers import CustomerAdapter

    monkeypatch.setattr(services, "CHUNK", 2)
    data = rows_csv(
        *[
            [f"崩溃测试{i}有限公司", "", "", "", "", "", NAMES[i], f"1350000000{i}", "", ""]
            for i in range(7)
        ]
    )
    original = CustomerAdapter.write
    calls = {"n": 0}

    def flaky(self: Any, rows: Any, ctx: Any) -> None:
        calls["n"] += 1
        original(self, rows, ctx)
        if calls["n"] == 2:
            raise RuntimeError("worker killed")

    monkeypatch.setattr(CustomerAdapter, "write", flaky)
    batch = import_upload(actor=org.admin, entity="customer", file_name="a.csv", data=data)
    import_start(actor=org.admin, batch=batch, background=False)
    with pytest.raises(RuntimeError):
        import_execute(batch.pk, dry_run=False)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED and "worker killed" in batch.error
    assert batch.last_row == 3  # the first chunk (rows 2-3) committed, the second rolled back
    assert Customer.objects.count() == 2 and ImportRow.objects.filter(batch=batch).count() == 2
    monkeypatch.setattr(CustomerAdapter, "write", original)
    import_resume(actor=org.admin, batch=batch, background=False)
    batch = import_execute(batch.pk, dry_run=False, resume=True)
    assert batch.status == BatchStatus.DONE
    assert batch.summary["created"] == 7 and Customer.objects.count() == 7
    assert rollback(org.admin, batch).rollback_summary["undone"] == 7
    assert Customer.objects.count() == 0


def test_crashed_batch_can_be_rolled_back(org, monkeypatch):
    from crm.imports.adapters_customers import CustomerAdapter

    monkeypatch.setattr(services, "CHUNK", 2)
    data = rows_csv(
        *[[f"回滚测试{i}有限公司", "", "", "", "", "", "", "", "", ""] for i in range(5)]
    )
    original = CustomerAdapter.write

    def flaky(self: Any, rows: Any, ctx: Any) -> None:
        if rows[0].number > 3:
            raise RuntimeError("disk full")
        original(self, rows, ctx)

    monkeypatch.setattr(CustomerAdapter, "write", flaky)
    batch = import_upload(actor=org.admin, entity="customer", file_name="a.csv", data=data)
    import_start(actor=org.admin, batch=batch, background=False)
    with pytest.raises(RuntimeError):
        import_execute(batch.pk, dry_run=False)
    batch.refresh_from_db()
    rollback(org.admin, batch)
    assert Customer.objects.count() == 0


# ---------------------------------------------------------------- staged migration


def test_where_and_reconciliation(org):
    from crm.imports.selectors import import_reconciliation

    data = rows_csv(
        ["阶段甲有限公司", "", "", "A", "浙江", "", "", "", "", ""],
        ["阶段乙有限公司", "", "", "B", "浙江", "", "", "", "", ""],
        ["阶段丙有限公司", "", "", "A级", "江苏", "", "", "", "", ""],
        ["阶段丁有限公司", "", "", "C", "广东", "", "", "", "", ""],
        ["", "", "", "A", "", "", "", "", "", ""],
    )
    first = run_import(
        org.admin, "customer", "旧系统.csv", data, where=["level=A"], migration="2026迁移"
    )
    report = report_of(first)
    assert report["summary"]["rows"] == 3 and report["left_out"] == 2
    assert {r["row"] for r in report["rows"]} == {2, 4, 6}
    second = run_import(
        org.admin, "customer", "旧系统.csv", data, where=["省份=浙江,江苏"], migration="2026迁移"
    )
    assert (
        report_of(second)["summary"]["created"] == 1
    )  # 乙; 甲 and 丙 were imported by the first stage
    rec = import_reconciliation(actor=org.admin, migration="2026迁移")
    f = rec["files"][0]
    assert (f["source_rows"], f["covered"], f["not_covered"]) == (5, 4, 1)  # 丁 (广东) not yet
    assert f["created"] == 3 and f["rejected"] == 1
    assert rec["totals"]["not_covered"] == 1


def test_where_names_a_field_or_a_column(org):
    batch = import_upload(
        actor=org.admin,
        entity="customer",
        file_name="a.csv",
        data=rows_csv(["甲", "", "", "", "", "", "", "", "", ""]),
    )
    with pytest.raises(ValidationFailed):
        import_mapping_set(
            actor=org.admin, batch=batch, mapping=batch.mapping, where=["没有这个字段=1"]
        )
    batch = import_mapping_set(
        actor=org.admin, batch=batch, mapping=batch.mapping, where=["客户级别=A", "备注=x"]
    )
    assert [w["field"] for w in batch.options["where"]] == ["level", "notes"]


# ---------------------------------------------------------------- permissions and ownership


def test_without_import_right(org):
    with pytest.raises(PermissionDenied):
        import_upload(
            actor=org.zhang_wei,
            entity="customer",
            file_name="a.csv",
            data=rows_csv(["甲", "", "", "", "", "", "", "", "", ""]),
        )


def test_rep_imports_only_as_themselves(org):
    grant_import(org.roles["sales_rep"], "customer")
    header = [*HEADER, "负责人"]
    data = rows_csv(
        ["代表甲有限公司", "", "", "", "", "", "", "", "", "", ""],
        ["代表乙有限公司", "", "", "", "", "", "", "", "", "", "wang.fang"],
        ["代表丙有限公司", "", "", "", "", "", "", "", "", "", org.zhang_wei.username],
        header=header,
    )
    batch = run_import(org.zhang_wei, "customer", "a.csv", data)
    rows = by_row(report_of(batch))
    assert rows[2]["action"] == "create" and rows[4]["action"] == "create"
    assert rows[3]["action"] == "reject" and any("自己或下属" in m for m in rows[3]["messages"])
    assert set(Customer.objects.values_list("owner_id", flat=True)) == {org.zhang_wei.pk}


def test_manager_may_assign_to_a_report(org):
    grant_import(org.roles["sales_manager"], "customer")
    data = rows_csv(
        ["经理分配有限公司", "", "", "", "", "", "", "", "", "", org.zhang_wei.username],
        header=[*HEADER, "负责人账号"],
    )
    run_import(org.li_na, "customer", "a.csv", data)
    assert Customer.objects.get().owner_id == org.zhang_wei.pk


def test_rep_cannot_merge_into_someone_elses_customer(org):
    grant_import(org.roles["sales_rep"], "customer")
    theirs = customer_create(actor=org.wang_fang, data={"name": "别人的客户有限公司"})
    batch = run_import(
        org.zhang_wei,
        "customer",
        "a.csv",
        rows_csv(["别人的客户有限公司", "", "软件", "", "", "", "", "", "", ""]),
    )
    row = by_row(report_of(batch))[2]
    assert row["action"] == "duplicate" and any("无权修改" in m for m in row["messages"])
    theirs.refresh_from_db()
    assert theirs.industry == ""


# ---------------------------------------------------------------- custom fields


def test_custom_fields_by_label_and_new_ones(org):
    from crm.customfields.services import custom_field_create, custom_field_defs

    custom_field_create(
        actor=org.admin,
        entity="customer",
        key="scale",
        label="客户规模",
        type="choice",
        choices=["大", "中", "小"],
    )
    data = rows_csv(
        ["自定义甲有限公司", "大", "金牌"],
        ["自定义乙有限公司", "超大", ""],
        header=["客户名称", "客户规模", "合作等级"],
    )
    batch = import_upload(actor=org.admin, entity="customer", file_name="a.csv", data=data)
    assert batch.mapping == {"0": "name", "1": "custom.scale", "2": ""}
    with pytest.raises(PermissionDenied):
        grant_import(org.roles["sales_rep"], "customer")
        rep_batch = import_upload(
            actor=org.zhang_wei, entity="customer", file_name="a.csv", data=data
        )
        import_mapping_set(
            actor=org.zhang_wei,
            batch=rep_batch,
            mapping=rep_batch.mapping,
            new_custom={"2": "合作等级"},
        )
    batch = import_mapping_set(
        actor=org.admin, batch=batch, mapping=batch.mapping, new_custom={"2": "合作等级"}
    )
    key = batch.mapping["2"]
    assert key.startswith("custom.") and any(
        d.label == "合作等级" for d in custom_field_defs("customer")
    )
    import_start(actor=org.admin, batch=batch, background=False)
    batch = import_execute(batch.pk, dry_run=False)
    first = Customer.objects.get(name="自定义甲有限公司")
    assert first.custom == {"scale": "大", key[7:]: "金牌"}
    second = Customer.objects.get(name="自定义乙有限公司")
    assert "scale" not in second.custom and "客户规模：超大" in second.notes
    assert any("不是可选的值" in m for m in by_row(report_of(batch))[3]["messages"])


# ---------------------------------------------------------------- other entities


def test_contacts_import_links_by_name_or_code(org):
    a = customer_create(actor=org.admin, data={"name": "联系人所属甲有限公司"})
    b = customer_create(
        actor=org.admin, data={"name": "联系人所属乙有限公司", "credit_code": CODE_A}
    )
    data = csv_bytes(
        [
            ["客户名称", "统一社会信用代码", "姓名", "职务", "手机", "邮箱"],
            ["联系人所属甲有限公司", "", "陈经理", "", "13811112222", ""],
            ["", CODE_A, "周总", "", "13811113333", "zhou@example.com"],
            ["不存在的公司", "", "吴", "", "13811114444", ""],
            ["联系人所属甲", "", "陈", "采购经理", "138 1111 2222", "chen@example.com"],
        ]
    )
    batch = run_import(org.admin, "contact", "c.csv", data)
    rows = by_row(report_of(batch))
    assert [rows[n]["action"] for n in (2, 3, 4, 5)] == ["create", "create", "reject", "merge"]
    chen = a.contacts.get()
    assert (chen.name, chen.title, chen.email) == ("陈", "经理", "chen@example.com")
    assert any("保留原值" in m for m in rows[5]["messages"])  # 采购经理 did not overwrite 经理
    assert b.contacts.get().email == "zhou@example.com"
    rollback(org.admin, batch)
    assert not Contact.objects.filter(customer__in=[a, b]).exists()


def test_followups_import(org):
    from crm.activities.models import FollowUp

    c = customer_create(
        actor=org.admin,
        data={"name": "跟进客户有限公司"},
        contacts=[{"name": "钱", "mobile": "13600000000"}],
    )
    data = csv_bytes(
        [
            ["客户名称", "跟进方式", "跟进内容", "跟进时间", "联系人", "下一步"],
            ["跟进客户有限公司", "电话", "介绍了新产品", "2024-03-08 14:30", "钱", "发报价"],
            ["跟进客户有限公司", "上门", "现场演示", "2024/3/9", "", ""],
            ["没有的客户", "电话", "x", "2024-03-08", "", ""],
            ["跟进客户有限公司", "电话", "", "2024-03-08", "", ""],
        ]
    )
    batch = run_import(org.admin, "followup", "f.csv", data)
    rows = by_row(report_of(batch))
    assert [rows[n]["action"] for n in (2, 3, 4, 5)] == ["create", "create", "reject", "reject"]
    kinds = sorted(FollowUp.objects.filter(customer=c).values_list("kind", flat=True))
    assert kinds == ["call", "visit"]
    assert FollowUp.objects.get(kind="call").contact.name == "钱"
    again = run_import(
        org.admin,
        "followup",
        "f2.csv",
        data.replace("介绍了新产品".encode(), "介绍了新产品".encode()),
    )
    assert report_of(again)["summary"]["created"] == 0
    rollback(org.admin, batch)
    assert not FollowUp.objects.filter(customer=c).exists()


def test_vcard_into_customers(org):
    from pathlib import Path

    data = Path("/work/shared/testdata/ezvcard__outlook-2007.vcf").read_bytes()
    batch = run_import(org.admin, "customer", "outlook.vcf", data)
    assert report_of(batch)["summary"]["created"] == 1
    c = Customer.objects.get(name="TheCompany")
    contact = c.contacts.get()
    assert contact.email == "mike.angstadt@gmail.com" and contact.title.endswith("TheJobTitle")


# ---------------------------------------------------------------- round trip


def test_round_trip_export_then_import_changes_nothing(org):
    """Export the customer list (crm.exports, the list's own columns) and import the file
    again: every row is recognised (by its ID) and nothing changes."""
    from django.http import QueryDict

    from crm.customfields.services import custom_field_create
    from crm.exports.services import export_start

    tag = tag_create(actor=org.admin, name="行业/制造业")
    custom_field_create(
        actor=org.admin,
        entity="customer",
        key="scale",
        label="客户规模",
        type="choice",
        choices=["大", "小"],
    )
    customer_create(
        actor=org.admin,
        data={
            "name": "往返甲(杭州)有限公司",
            "credit_code": CODE_A,
            "industry": "制造",
            "level": "A",
            "province": "浙江",
            "city": "杭州",
            "address": "文三路 1 号",
            "website": "www.a.cn",
            "notes": "-备注以减号开头",
            "status": "following",
        },
        contacts=[
            {
                "name": "王",
                "title": "采购经理",
                "mobile": "13800001111",
                "phone": "0571-88886666转12",
                "email": "w@a.cn",
            }
        ],
        tags=[tag],
        custom={"scale": "大"},
        owner=org.zhang_wei,
    )
    customer_create(
        actor=org.admin,
        data={"name": "往返乙有限公司"},
        contacts=[{"name": "未命名联系人", "mobile": "13800002222"}],
    )
    customer_create(actor=org.admin, data={"name": "往返丙有限公司北京分公司"})
    before = snapshot()
    versions = dict(Customer.objects.values_list("pk", "version"))
    started = export_start(actor=org.admin, entity="customer", fmt="csv", query=QueryDict(""))
    data = b"".join(started.stream.csv_chunks())
    batch = run_import(org.admin, "customer", "客户导出.csv", data)
    report = report_of(batch)
    assert report["summary"]["skipped"] == 3, report["rows"]
    assert snapshot() == before
    assert dict(Customer.objects.values_list("pk", "version")) == versions
    # the same as an Excel file
    buf = io.BytesIO()
    started = export_start(actor=org.admin, entity="customer", fmt="xlsx", query=QueryDict(""))
    started.stream.write_xlsx(buf)
    batch = run_import(org.admin, "customer", "客户导出.xlsx", buf.getvalue())
    assert report_of(batch)["summary"]["skipped"] == 3
    assert snapshot() == before


# ---------------------------------------------------------------- reports


def test_xlsx_report_never_writes_formulas(org):
    import openpyxl

    from crm.imports.report import report_xlsx

    data = rows_csv(['=HYPERLINK("http://x","点我")', "", "", "", "", "", "", "", "", "@SUM(1)"])
    batch = run_import(org.admin, "customer", "a.csv", data)
    wb = openpyxl.load_workbook(io.BytesIO(report_xlsx(batch)))
    cells = [c.value for row in wb["明细"].iter_rows() for c in row if isinstance(c.value, str)]
    assert any(v.startswith("'=HYPERLINK") for v in cells)
    assert not any(v.startswith("=") for v in cells)


def test_bad_files_change_nothing(org):
    before = snapshot()
    for name, data in [("a.csv", b""), ("a.xlsx", b"not a zip"), ("a.csv", csv_bytes([HEADER]))]:
        with pytest.raises(ValidationFailed):
            import_upload(actor=org.admin, entity="customer", file_name=name, data=data)
    assert not ImportBatch.objects.exists() and snapshot() == before


def test_unknown_entity(org):
    with pytest.raises(ValidationFailed):
        import_upload(
            actor=org.admin, entity="unicorns", file_name="a.csv", data=rows_csv(["甲"] * 10)
        )


def test_bulk_completeness_matches_the_service(org):
    """New customers are written in bulk; their completeness must be what
    crm.customers.services.completeness_compute says, whatever the key fields are."""
    from crm.core.config import setting_set
    from crm.customers import config as customer_config
    from crm.customfields.services import custom_field_create

    custom_field_create(actor=org.admin, entity="customer", key="size", label="规模", type="text")
    tag_create(actor=org.admin, name="重点")
    setting_set(
        actor=org.admin,
        key=customer_config.COMPLETENESS,
        value=[
            "industry",
            "city",
            "contact",
            "contact_phone",
            "contact_email",
            "decision_maker",
            "tags",
            "custom.size",
        ],
    )
    header = ["客户名称", "行业", "城市", "联系人", "手机", "邮箱", "联系人角色", "标签", "规模"]
    data = rows_csv(
        ["完整甲有限公司", "制造", "杭州", "张伟", "13800000001", "a@b.cn", "决策人", "重点", "大"],
        ["完整乙有限公司", "", "", "王芳", "", "b@b.cn", "", "", ""],
        ["完整丙有限公司", "软件", "", "", "", "", "", "", ""],
        ["完整甲有限公司", "", "", "李娜", "13800000002", "", "", "", ""],
        header=header,
    )
    run_import(org.admin, "customer", "a.csv", data)
    for customer in Customer.objects.all():
        assert customer.completeness == completeness_compute(customer), customer.name
    assert Customer.objects.get(name="完整甲有限公司").completeness == 100
