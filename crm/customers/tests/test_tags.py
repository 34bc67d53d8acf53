"""The tag tree: nested creation, moves without cycles, deletion that only untags,
bulk tagging limited to editable customers, filters that include descendants."""

from __future__ import annotations

import pytest

from crm.audit.models import AuditEntry
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.customers import services
from crm.customers.models import Customer, CustomerTag, Tag
from crm.customers.selectors import customer_list, tag_list, tags_by_ids
from crm.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db


def make(actor, name):
    return services.customer_create(actor=actor, data={"name": name})


def test_nested_creation_from_a_path(org):
    leaf = services.tag_create(actor=org.admin, name="行业/制造业/汽车零部件")
    assert leaf.full_name == "行业/制造业/汽车零部件"
    assert leaf.name == "汽车零部件"
    parent = leaf.parent
    assert parent.full_name == "行业/制造业"
    root = parent.parent
    assert root.full_name == "行业" and root.parent is None
    assert leaf.path == f"/{root.pk}/{parent.pk}/{leaf.pk}/"
    # Existing levels are reused, missing ones added.
    sibling = services.tag_create(actor=org.admin, name=" 行业 / 制造业 / 机床 ")
    assert sibling.parent_id == parent.pk
    software = services.tag_create(actor=org.admin, name="行业/软件")
    assert software.parent_id == root.pk
    assert Tag.objects.count() == 5
    # Asking for an existing full path returns it; a plain duplicate name is refused.
    assert services.tag_create(actor=org.admin, name="行业/软件").pk == software.pk
    with pytest.raises(ValidationFailed) as exc:
        services.tag_create(actor=org.admin, name="软件", parent=root)
    assert exc.value.field == "name"
    assert AuditEntry.objects.filter(action="create", entity="tag").count() == 5


def test_tag_names_are_checked(org):
    for bad in ("", "  ", "/", "长" * 51):
        with pytest.raises(ValidationFailed):
            services.tag_create(actor=org.admin, name=bad)


def test_who_may_manage_tags(org):
    services.tag_create(actor=org.zhao_min, name="来源/展会")  # marketing manages tags
    with pytest.raises(PermissionDenied):
        services.tag_create(actor=org.zhang_wei, name="重点客户")
    assert [t.full_name for t in tag_list(actor=org.zhang_wei)] == ["来源", "来源/展会"]
    assert [t.depth for t in tag_list(actor=org.zhang_wei)] == [0, 1]


def test_move_updates_the_subtree_and_refuses_cycles(org):
    leaf = services.tag_create(actor=org.admin, name="行业/制造业/汽车零部件")
    mfg = leaf.parent
    root = mfg.parent
    other = services.tag_create(actor=org.admin, name="重点行业")
    for bad_parent in (mfg, leaf):
        with pytest.raises(ValidationFailed) as exc:
            services.tag_update(actor=org.admin, tag=Tag.objects.get(pk=mfg.pk), parent=bad_parent)
        assert exc.value.field == "parent"
    with pytest.raises(ValidationFailed):
        services.tag_update(actor=org.admin, tag=Tag.objects.get(pk=root.pk), parent=leaf)
    services.tag_update(actor=org.admin, tag=Tag.objects.get(pk=mfg.pk), parent=other)
    leaf.refresh_from_db()
    assert leaf.full_name == "重点行业/制造业/汽车零部件"
    assert leaf.path == f"/{other.pk}/{mfg.pk}/{leaf.pk}/"
    # Rename a middle level: descendants follow.
    services.tag_update(actor=org.admin, tag=Tag.objects.get(pk=mfg.pk), name="工业")
    leaf.refresh_from_db()
    assert leaf.full_name == "重点行业/工业/汽车零部件"
    # Back to the top level.
    services.tag_update(actor=org.admin, tag=Tag.objects.get(pk=mfg.pk), parent=None)
    leaf.refresh_from_db()
    assert leaf.full_name == "工业/汽车零部件"
    assert leaf.path == f"/{mfg.pk}/{leaf.pk}/"
    with pytest.raises(ValidationFailed):
        services.tag_update(actor=org.admin, tag=Tag.objects.get(pk=mfg.pk), name="a/b")


def test_move_refuses_a_name_clash(org):
    a = services.tag_create(actor=org.admin, name="甲/软件")
    services.tag_create(actor=org.admin, name="乙/软件")
    with pytest.raises(ValidationFailed):
        services.tag_update(actor=org.admin, tag=a, parent=Tag.objects.get(name="乙"))


def test_delete_untags_and_keeps_customers(org):
    tag = services.tag_create(actor=org.admin, name="重点客户")
    c = make(org.zhang_wei, "甲公司")
    services.customers_tag(actor=org.zhang_wei, customer_ids=[c.pk], tags=[tag])
    services.tag_delete(actor=org.admin, tag=tag)
    assert not Tag.objects.filter(pk=tag.pk).exists()
    assert not CustomerTag.objects.exists()
    assert Customer.objects.filter(pk=c.pk).exists()
    entry = AuditEntry.objects.filter(action="delete", entity="tag").get()
    assert entry.changes["customers"] == 1


def test_delete_refuses_a_tag_with_children(org):
    leaf = services.tag_create(actor=org.admin, name="行业/软件")
    with pytest.raises(ValidationFailed) as exc:
        services.tag_delete(actor=org.admin, tag=leaf.parent)
    assert exc.value.field == "children"
    with pytest.raises(PermissionDenied):
        services.tag_delete(actor=org.zhang_wei, tag=leaf)


def test_bulk_tag_and_untag(org):
    hot = services.tag_create(actor=org.admin, name="重点客户")
    fair = services.tag_create(actor=org.admin, name="来源/展会")
    a, b = make(org.zhang_wei, "甲公司"), make(org.zhang_wei, "乙公司")
    va = Customer.objects.get(pk=a.pk).version
    assert services.customers_tag(actor=org.zhang_wei, customer_ids=[a.pk, b.pk], tags=[hot]) == 2
    # Tagging again changes nothing; adding a second tag changes both.
    assert services.customers_tag(actor=org.zhang_wei, customer_ids=[a.pk, b.pk], tags=[hot]) == 0
    assert (
        services.customers_tag(actor=org.zhang_wei, customer_ids=[a.pk, b.pk], tags=[hot, fair])
        == 2
    )
    assert CustomerTag.objects.filter(customer=a).count() == 2
    assert Customer.objects.get(pk=a.pk).version == va + 2
    events = TimelineEvent.objects.filter(customer=a, kind="tagged").order_by("id")
    assert [e.summary for e in events] == ["添加标签：重点客户", "添加标签：来源/展会"]
    assert (
        services.customers_tag(actor=org.zhang_wei, customer_ids=[a.pk], tags=[hot], add=False) == 1
    )
    assert list(CustomerTag.objects.filter(customer=a).values_list("tag_id", flat=True)) == [
        fair.pk
    ]
    assert (
        TimelineEvent.objects.filter(customer=a, kind="tagged")
        .order_by("id")
        .last()
        .summary.startswith("移除标签")
    )
    assert (
        services.customers_tag(actor=org.zhang_wei, customer_ids=[a.pk], tags=[hot], add=False) == 0
    )
    with pytest.raises(ValidationFailed):
        services.customers_tag(actor=org.zhang_wei, customer_ids=[a.pk], tags=[])
    assert AuditEntry.objects.filter(object_repr="批量标签").count() == 3


def test_bulk_tag_only_on_editable_customers(org):
    hot = services.tag_create(actor=org.admin, name="重点客户")
    mine = make(org.zhang_wei, "甲公司")
    team = make(org.li_na, "乙公司")
    before = CustomerTag.objects.count()
    # The manager sees the rep's customer but may not edit it: all or nothing.
    with pytest.raises(NotFound):
        services.customers_tag(actor=org.li_na, customer_ids=[mine.pk, team.pk], tags=[hot])
    with pytest.raises(NotFound):
        services.customers_tag(actor=org.wang_fang, customer_ids=[mine.pk], tags=[hot])
    with pytest.raises(NotFound):
        services.customers_tag(actor=org.zhang_wei, customer_ids=[mine.pk, 999999], tags=[hot])
    assert CustomerTag.objects.count() == before
    assert not TimelineEvent.objects.filter(kind="tagged").exists()
    assert services.customers_tag(actor=org.li_na, customer_ids=[team.pk], tags=[hot]) == 1
    assert services.customers_tag(actor=org.admin, customer_ids=[mine.pk], tags=[hot]) == 1


def test_tag_filter_includes_descendants(org):
    leaf = services.tag_create(actor=org.admin, name="行业/制造业/汽车零部件")
    mfg = leaf.parent
    industry = mfg.parent
    software = services.tag_create(actor=org.admin, name="行业/软件")
    fair = services.tag_create(actor=org.admin, name="来源/展会")
    a, b, c, d = (
        make(org.zhang_wei, n) for n in ("零部件公司", "制造公司", "软件公司", "展会公司")
    )
    services.customers_tag(actor=org.zhang_wei, customer_ids=[a.pk], tags=[leaf])
    services.customers_tag(actor=org.zhang_wei, customer_ids=[b.pk], tags=[mfg])
    services.customers_tag(actor=org.zhang_wei, customer_ids=[c.pk], tags=[software])
    services.customers_tag(actor=org.zhang_wei, customer_ids=[d.pk], tags=[fair])

    def names(tag):
        page = customer_list(actor=org.zhang_wei, filters={"tag": str(tag.pk), "sort": "name"})
        return sorted(x.name for x in page.items)

    assert names(industry) == sorted(["零部件公司", "制造公司", "软件公司"])
    assert names(mfg) == sorted(["零部件公司", "制造公司"])
    assert names(leaf) == ["零部件公司"]
    assert names(fair) == ["展会公司"]
    # A customer tagged with a parent and a child appears once.
    services.customers_tag(actor=org.zhang_wei, customer_ids=[a.pk], tags=[industry])
    assert names(industry).count("零部件公司") == 1
    assert customer_list(actor=org.zhang_wei, filters={"tag": "999999"}).items == []
    with pytest.raises(ValidationFailed):
        customer_list(actor=org.zhang_wei, filters={"tag": "abc"})
    # Tags are attached to list rows without a query per row.
    page = customer_list(actor=org.zhang_wei, filters={"tag": str(industry.pk)})
    assert all(hasattr(x, "tag_list") for x in page.items)


def test_tags_by_ids(org):
    t = services.tag_create(actor=org.admin, name="重点客户")
    assert tags_by_ids(actor=org.zhang_wei, ids=[str(t.pk)]) == [t]
    with pytest.raises(ValidationFailed):
        tags_by_ids(actor=org.zhang_wei, ids=[t.pk, 999999])
    with pytest.raises(ValidationFailed):
        tags_by_ids(actor=org.zhang_wei, ids=["x"])
