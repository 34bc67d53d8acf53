"""Customer and contact services: registration (报备) with the duplicate check, quick add,
updates with versions, field security, completeness, collaboration."""

from __future__ import annotations

import pytest

from crm.access.services import field_rule_set
from crm.access.visibility import clear_cache, visible
from crm.audit.models import AuditEntry
from crm.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from crm.customers import config, services
from crm.customers.models import (
    CollaborationRequest,
    Contact,
    Customer,
    CustomerCollaborator,
    CustomerTag,
    RequestStatus,
)
from crm.customers.selectors import customer_get
from crm.customfields.services import custom_field_create
from crm.search.models import SearchEntry
from crm.timeline.models import TimelineEvent

pytestmark = pytest.mark.django_db

CODE = "91330100716105852F"
CODE2 = "914403001922038216"


def make(actor, name, *, contacts=None, **data):
    return services.customer_create(actor=actor, data={"name": name, **data}, contacts=contacts)


# ------------------------------------------------------------------ create


def test_create_with_contacts_tags_and_custom_fields(org):
    tag = services.tag_create(actor=org.admin, name="行业/制造业")
    custom_field_create(
        actor=org.admin, entity="customer", key="annual", label="年采购额", type="money"
    )
    c = services.customer_create(
        actor=org.zhang_wei,
        data={
            "name": "  宁波 东方电缆股份有限公司 ",
            "credit_code": "９１３３０１００７１６１０５８５２ｆ",
            "level": "A",
            "province": "浙江",
            "city": "宁波",
        },
        contacts=[
            {"name": "王建国", "mobile": "+86 138-1234-5678", "role": "decision_maker"},
            {"name": "李梅", "email": "Li.Mei@Example.com", "birthday": "1985-06-01"},
            {"name": "", "mobile": ""},  # an empty form row is ignored
        ],
        tags=[tag],
        custom={"annual": "1,234,567.5"},
    )
    c.refresh_from_db()
    assert c.name == "宁波 东方电缆股份有限公司"
    assert c.name_key == "宁波东方电缆"
    assert c.credit_code == CODE
    assert c.owner == org.zhang_wei
    assert c.created_by == org.zhang_wei
    assert c.owned_since is not None
    assert c.custom == {"annual": "1234567.50"}
    contacts = list(c.contacts.order_by("id"))
    assert [x.name for x in contacts] == ["王建国", "李梅"]
    assert contacts[0].is_primary and not contacts[1].is_primary
    assert contacts[0].mobile == "+8613812345678"
    assert contacts[0].mobile_raw == "+86 138-1234-5678"
    assert contacts[1].email == "li.mei@example.com"
    assert str(contacts[1].birthday) == "1985-06-01"
    assert list(CustomerTag.objects.filter(customer=c).values_list("tag_id", flat=True)) == [tag.pk]
    # Search index, timeline and audit are written by the service.
    assert SearchEntry.objects.filter(entity="customer", object_id=c.pk).exists()
    assert SearchEntry.objects.filter(entity="contact").count() == 2
    assert TimelineEvent.objects.filter(customer=c, kind="created").count() == 1
    assert AuditEntry.objects.filter(action="create", entity="customer", object_id=str(c.pk))
    # 8 default key fields: code, level, province, city, contact, contact phone = 6/8.
    assert c.completeness == 75


def test_create_validates_every_field_with_its_name(org):
    cases = [
        ({"name": ""}, None, "name"),
        ({"name": "X", "credit_code": "91330100716105852G"}, None, "credit_code"),
        ({"name": "X", "level": "Z"}, None, "level"),
        ({"name": "X", "status": "bogus"}, None, "status"),
        ({"name": "X", "city": "城" * 31}, None, "city"),
        ({"name": "X"}, [{"name": "张三", "mobile": "138xxxx1234"}], "mobile"),
        ({"name": "X"}, [{"name": "张三", "phone": "12345"}], "phone"),
        ({"name": "X"}, [{"name": "张三", "email": "zhang@"}], "email"),
        ({"name": "X"}, [{"name": "张三", "birthday": "31/01/1980"}], "birthday"),
        ({"name": "X"}, [{"name": "张三", "role": "boss"}], "role"),
        ({"name": "X"}, [{"mobile": "13812345678"}], "name"),
    ]
    for data, contacts, field in cases:
        with pytest.raises(ValidationFailed) as exc:
            services.customer_create(actor=org.zhang_wei, data=data, contacts=contacts)
        assert exc.value.field == field, (data, contacts)
    assert not Customer.all_objects.exists()


def test_roles_without_create_rights_cannot_create(org):
    for actor in (org.zhao_min, org.chen_jing, org.liu_yang):
        with pytest.raises(PermissionDenied):
            make(actor, "某某有限公司")


def test_owner_may_be_a_report_never_a_stranger(org):
    c = services.customer_create(actor=org.li_na, data={"name": "甲公司"}, owner=org.zhang_wei)
    assert c.owner == org.zhang_wei
    with pytest.raises(PermissionDenied) as exc:
        services.customer_create(actor=org.li_na, data={"name": "乙公司"}, owner=org.wang_fang)
    assert exc.value.field == "owner"
    with pytest.raises(PermissionDenied):
        services.customer_create(actor=org.zhang_wei, data={"name": "丙公司"}, owner=org.li_na)
    c = services.customer_create(actor=org.admin, data={"name": "丁公司"}, owner=org.wang_fang)
    assert c.owner == org.wang_fang


# ------------------------------------------------------------------ duplicate check (报备)


@pytest.fixture
def existing(org):
    return make(
        org.zhang_wei,
        "杭州海康威视数字技术股份有限公司",
        credit_code=CODE,
        contacts=[{"name": "王建国", "mobile": "13812345678", "email": "wjg@hikvision.com"}],
    )


@pytest.mark.parametrize(
    ("name", "data", "contacts", "reason"),
    [
        ("完全不同的名字", {"credit_code": CODE.lower()}, None, "统一社会信用代码相同"),
        ("杭州 海康威视数字技术（有限公司）", {}, None, "名称相同"),
        ("杭州海康威视数字技术有限责任公司", {}, None, "名称相同"),
        ("另一家公司", {}, [{"name": "某人", "mobile": "+86 138 1234 5678"}], "联系人电话相同"),
        ("另一家公司", {}, [{"name": "某人", "phone": "138-1234-5678"}], "联系人电话相同"),
        ("另一家公司", {}, [{"name": "某人", "email": "WJG@hikvision.com"}], "联系人邮箱相同"),
    ],
)
def test_duplicates_are_found_across_departments(org, existing, name, data, contacts, reason):
    # wang.fang (华南) cannot see the 华东 customer, and is still told it exists.
    with pytest.raises(NotFound):
        customer_get(actor=org.wang_fang, customer_id=existing.pk)
    with pytest.raises(Conflict) as exc:
        make(org.wang_fang, name, contacts=contacts, **data)
    assert exc.value.existing_id == existing.pk
    assert exc.value.status == 409
    assert reason in exc.value.message
    assert org.zhang_wei.name in exc.value.message
    assert "华东销售部" in exc.value.message
    assert Customer.objects.count() == 1


def test_branch_is_not_a_duplicate_of_the_head_office(org):
    make(org.zhang_wei, "华为技术有限公司")
    branch = make(org.wang_fang, "华为技术有限公司(北京分公司)")
    assert branch.pk


def test_pool_customer_duplicate_names_the_pool(org, existing):
    services.customer_release(actor=org.zhang_wei, customer=existing, reason="不跟了")
    with pytest.raises(Conflict) as exc:
        make(org.wang_fang, "杭州海康威视数字技术股份有限公司")
    assert exc.value.existing_id == existing.pk
    assert "公海" in exc.value.message


def test_describe_a_hit_with_field_security(org, existing):
    hits = services.customer_duplicates_unscoped(name="杭州海康威视数字技术有限公司")
    info = services.duplicate_describe(org.wang_fang, hits[0])
    assert info["id"] == existing.pk
    assert info["owner"] == org.zhang_wei.name
    assert info["department"] == "华东销售部"
    assert info["visible"] is False
    assert info["in_pool"] is False
    assert services.duplicate_describe(org.zhang_wei, hits[0])["visible"] is True


def test_allow_duplicate_is_for_administrators_only(org, existing):
    with pytest.raises(Conflict):
        services.customer_create(
            actor=org.wang_fang,
            data={"name": "杭州海康威视数字技术股份有限公司"},
            allow_duplicate=True,
        )
    with pytest.raises(Conflict):
        services.customer_create(
            actor=org.li_na, data={"name": "杭州海康威视数字技术股份有限公司"}, allow_duplicate=True
        )
    twin = services.customer_create(
        actor=org.admin,
        data={"name": "杭州海康威视数字技术股份有限公司"},
        allow_duplicate=True,
    )
    assert twin.pk != existing.pk
    # Without the flag an administrator is stopped like everyone else.
    with pytest.raises(Conflict):
        make(org.admin, "杭州海康威视数字技术股份有限公司")


def test_deleted_customer_does_not_block_registration(org, existing):
    services.customer_delete(actor=org.zhang_wei, customer=existing)
    again = make(org.wang_fang, "杭州海康威视数字技术股份有限公司", credit_code=CODE)
    assert again.pk != existing.pk


def test_update_to_a_used_credit_code_is_a_conflict(org, existing):
    other = make(org.wang_fang, "深圳市大疆创新科技有限公司")
    with pytest.raises(Conflict) as exc:
        services.customer_update(
            actor=org.wang_fang,
            customer=other,
            expected_version=other.version,
            data={"credit_code": CODE},
        )
    assert exc.value.existing_id == existing.pk
    assert exc.value.field == "credit_code"
    # Its own code again is not a conflict.
    services.customer_update(
        actor=org.zhang_wei,
        customer=existing,
        expected_version=existing.version,
        data={"credit_code": CODE, "city": "杭州"},
    )


# ------------------------------------------------------------------ quick add


def test_quick_add_needs_one_channel(org):
    with pytest.raises(ValidationFailed) as exc:
        services.customer_quick_add(actor=org.zhang_wei, name="某公司", contact_name="张三")
    assert exc.value.field == "mobile"
    with pytest.raises(ValidationFailed):
        services.customer_quick_add(actor=org.zhang_wei, name="某公司", mobile="   ")
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("channel", "value", "stored"),
    [
        ("mobile", "138 1234 5678", "+8613812345678"),
        ("phone", "021-62345678", "+862162345678"),
        ("email", "Zhang@Example.com", "zhang@example.com"),
        ("wechat", "zhangsan_88", "zhangsan_88"),
    ],
)
def test_quick_add_with_any_channel(org, channel, value, stored):
    c = services.customer_quick_add(actor=org.zhang_wei, name="快速公司", **{channel: value})
    contact = c.contacts.get()
    assert getattr(contact, channel) == stored
    assert contact.name == "未命名联系人"
    assert contact.is_primary
    assert c.owner == org.zhang_wei


def test_quick_add_runs_the_duplicate_check(org, existing):
    with pytest.raises(Conflict) as exc:
        services.customer_quick_add(actor=org.wang_fang, name="新名字", mobile="13812345678")
    assert exc.value.existing_id == existing.pk


def test_quick_add_bad_phone_names_the_field(org):
    with pytest.raises(ValidationFailed) as exc:
        services.customer_quick_add(actor=org.zhang_wei, name="某公司", mobile="12345")
    assert exc.value.field == "mobile"


# ------------------------------------------------------------------ update


def test_update_writes_changes_and_bumps_the_version(org, existing):
    v = existing.version
    services.customer_update(
        actor=org.zhang_wei,
        customer=existing,
        expected_version=v,
        data={"city": "杭州", "level": "B", "owner": org.wang_fang.pk, "bogus": 1},
    )
    fresh = Customer.objects.get(pk=existing.pk)
    assert fresh.city == "杭州"
    assert fresh.level == "B"
    assert fresh.owner == org.zhang_wei  # owner is not an update field (transfer is)
    assert fresh.version == v + 1
    event = TimelineEvent.objects.filter(customer=existing, kind="updated").get()
    assert event.data["changes"]["city"] == ["", "杭州"]
    assert event.data["changes"]["level"] == ["", "B"]
    assert AuditEntry.objects.filter(
        action="update", entity="customer", object_id=str(existing.pk)
    ).exists()


def test_update_with_stale_version_changes_nothing(org, existing):
    stale = Customer.objects.get(pk=existing.pk)
    services.customer_update(
        actor=org.zhang_wei,
        customer=existing,
        expected_version=existing.version,
        data={"city": "杭州"},
    )
    with pytest.raises(StaleVersion):
        services.customer_update(
            actor=org.zhang_wei,
            customer=stale,
            expected_version=stale.version,
            data={"city": "宁波"},
        )
    fresh = Customer.objects.get(pk=existing.pk)
    assert fresh.city == "杭州"
    assert TimelineEvent.objects.filter(customer=existing, kind="updated").count() == 1


def test_update_without_changes_writes_no_event(org, existing):
    services.customer_update(
        actor=org.zhang_wei,
        customer=existing,
        expected_version=existing.version,
        data={"name": "杭州海康威视数字技术股份有限公司"},
    )
    assert not TimelineEvent.objects.filter(customer=existing, kind="updated").exists()


def test_manager_reads_but_cannot_edit_a_reps_customer(org, existing):
    assert customer_get(actor=org.li_na, customer_id=existing.pk)
    with pytest.raises(PermissionDenied):
        services.customer_update(
            actor=org.li_na,
            customer=existing,
            expected_version=existing.version,
            data={"city": "X"},
        )
    with pytest.raises(NotFound):
        services.customer_update(
            actor=org.wang_fang,
            customer=existing,
            expected_version=existing.version,
            data={"city": "X"},
        )


# ------------------------------------------------------------------ field security


def test_readonly_field_cannot_be_written(org, existing):
    field_rule_set(
        actor=org.admin,
        role=org.roles["sales_rep"],
        entity="customer",
        field="level",
        access="readonly",
    )
    clear_cache(org.zhang_wei)
    with pytest.raises(PermissionDenied) as exc:
        services.customer_update(
            actor=org.zhang_wei,
            customer=existing,
            expected_version=existing.version,
            data={"level": "A"},
        )
    assert exc.value.field == "level"
    with pytest.raises(PermissionDenied) as exc:
        make(org.zhang_wei, "新客户有限公司", level="A")
    assert exc.value.field == "level"
    # Other fields stay writable; sending the unchanged value of the readonly one is fine.
    services.customer_update(
        actor=org.zhang_wei,
        customer=existing,
        expected_version=existing.version,
        data={"city": "杭州", "level": existing.level},
    )
    # An administrator is never restricted.
    services.customer_update(
        actor=org.admin,
        customer=existing,
        expected_version=Customer.objects.get(pk=existing.pk).version,
        data={"level": "A"},
    )


def test_masked_contact_field_cannot_be_written(org, existing):
    field_rule_set(
        actor=org.admin,
        role=org.roles["sales_rep"],
        entity="contact",
        field="mobile",
        access="masked",
    )
    clear_cache(org.zhang_wei)
    contact = existing.contacts.get()
    with pytest.raises(PermissionDenied) as exc:
        services.contact_update(
            actor=org.zhang_wei,
            contact=contact,
            expected_version=contact.version,
            data={"mobile": "13900001111"},
        )
    assert exc.value.field == "mobile"
    with pytest.raises(PermissionDenied):
        services.contact_create(
            actor=org.zhang_wei, customer=existing, data={"name": "新人", "mobile": "13900001111"}
        )


# ------------------------------------------------------------------ contacts


def test_contact_create_update_delete(org, existing):
    c2 = services.contact_create(
        actor=org.zhang_wei,
        customer=existing,
        data={"name": "李四", "title": "技术总监", "phone": "0571-88886666", "role": "technical"},
    )
    assert not c2.is_primary
    assert c2.phone == "+8657188886666"
    services.contact_update(
        actor=org.zhang_wei, contact=c2, expected_version=c2.version, data={"title": "CTO"}
    )
    assert Contact.objects.get(pk=c2.pk).title == "CTO"
    with pytest.raises(StaleVersion):
        services.contact_update(
            actor=org.zhang_wei, contact=c2, expected_version=1, data={"title": "x"}
        )
    services.contact_delete(actor=org.zhang_wei, contact=c2)
    assert not Contact.objects.filter(pk=c2.pk).exists()
    assert Contact.all_objects.filter(pk=c2.pk, deleted_at__isnull=False).exists()


def test_first_contact_of_a_customer_is_primary(org):
    c = make(org.zhang_wei, "无联系人公司")
    contact = services.contact_create(actor=org.zhang_wei, customer=c, data={"name": "首位"})
    assert contact.is_primary


def test_contacts_of_others_are_out_of_reach(org, existing):
    contact = existing.contacts.get()
    with pytest.raises(NotFound):
        services.contact_update(
            actor=org.wang_fang,
            contact=contact,
            expected_version=contact.version,
            data={"title": "x"},
        )
    with pytest.raises(NotFound):
        services.contact_delete(actor=org.wang_fang, contact=contact)
    with pytest.raises(NotFound):
        services.contact_create(actor=org.wang_fang, customer=existing, data={"name": "x"})
    with pytest.raises(PermissionDenied):
        services.contact_create(actor=org.li_na, customer=existing, data={"name": "x"})


def test_delete_needs_rights_and_goes_to_the_bin(org, existing):
    with pytest.raises(NotFound):
        services.customer_delete(actor=org.wang_fang, customer=existing)
    with pytest.raises(PermissionDenied):
        services.customer_delete(actor=org.li_na, customer=existing)
    services.customer_delete(actor=org.zhang_wei, customer=existing)
    assert not Customer.objects.filter(pk=existing.pk).exists()
    assert not SearchEntry.objects.filter(entity="customer", object_id=existing.pk).exists()
    assert TimelineEvent.objects.filter(customer_id=existing.pk, kind="deleted").exists()
    assert AuditEntry.objects.filter(action="delete", object_id=str(existing.pk)).exists()


# ------------------------------------------------------------------ completeness


def test_completeness_default_key_fields(org):
    bare = make(org.zhang_wei, "空白公司")
    assert bare.completeness == 0
    half = make(
        org.zhang_wei,
        "一半公司",
        level="B",
        industry="制造业",
        contacts=[{"name": "张三", "mobile": "13812345678"}],
    )
    assert half.completeness == 50  # level, industry, contact, contact phone = 4/8
    full = make(
        org.zhang_wei,
        "完整公司",
        credit_code=CODE2,
        industry="软件",
        level="A",
        province="广东",
        city="深圳",
        address="南山区科技园",
        contacts=[{"name": "李四", "phone": "0755-86001234"}],
    )
    assert full.completeness == 100


def test_completeness_follows_contact_changes(org):
    c = make(org.zhang_wei, "联系人公司")
    contact = services.contact_create(
        actor=org.zhang_wei, customer=c, data={"name": "张三", "mobile": "13812345678"}
    )
    assert Customer.objects.get(pk=c.pk).completeness == 25
    services.contact_delete(actor=org.zhang_wei, contact=contact)
    assert Customer.objects.get(pk=c.pk).completeness == 0


def test_completeness_with_custom_and_tag_fields(org, django_capture_on_commit_callbacks):
    custom_field_create(
        actor=org.admin,
        entity="customer",
        key="intent",
        label="合作意向",
        type="choice",
        choices=["高", "中", "低"],
    )
    a = services.customer_create(
        actor=org.zhang_wei, data={"name": "甲公司", "industry": "软件"}, custom={"intent": "高"}
    )
    b = make(org.zhang_wei, "乙公司")
    assert services.completeness_compute(a, ["custom.intent", "industry"]) == 100
    assert services.completeness_compute(b, ["custom.intent", "industry"]) == 0
    assert services.completeness_compute(a, []) == 100
    tag = services.tag_create(actor=org.admin, name="重点客户")
    services.customers_tag(actor=org.zhang_wei, customer_ids=[b.pk], tags=[tag])
    assert services.completeness_compute(Customer.objects.get(pk=b.pk), ["tags"]) == 100

    # An administrator changes the key fields: every customer is recomputed (in the worker).
    with django_capture_on_commit_callbacks(execute=True):
        services.customer_settings_update(
            actor=org.admin, completeness_fields=["custom.intent", "industry", "tags"]
        )
    assert config.completeness_fields() == ["custom.intent", "industry", "tags"]
    assert Customer.objects.get(pk=a.pk).completeness == 67
    assert Customer.objects.get(pk=b.pk).completeness == 33


def test_completeness_settings_are_checked(org):
    with pytest.raises(PermissionDenied):
        services.customer_settings_update(actor=org.li_na, completeness_fields=["industry"])
    with pytest.raises(ValidationFailed) as exc:
        services.customer_settings_update(actor=org.admin, completeness_fields=["custom.nope"])
    assert exc.value.field == "completeness_fields"
    with pytest.raises(ValidationFailed):
        services.customer_settings_update(actor=org.admin, completeness_fields=["password"])


def test_completeness_filter_range(org):
    make(org.zhang_wei, "空白公司")
    make(
        org.zhang_wei,
        "一半公司",
        level="B",
        industry="制造业",
        contacts=[{"name": "张", "mobile": "13812345678"}],
    )
    from crm.customers.selectors import customer_list

    page = customer_list(actor=org.zhang_wei, filters={"completeness_min": "50"})
    assert [c.name for c in page.items] == ["一半公司"]
    page = customer_list(actor=org.zhang_wei, filters={"completeness_max": "49"})
    assert [c.name for c in page.items] == ["空白公司"]


# ------------------------------------------------------------------ levels and settings


def test_levels_are_configurable(org):
    services.customer_settings_update(actor=org.admin, levels=["VIP", "普通"])
    assert make(org.zhang_wei, "贵宾公司", level="VIP").level == "VIP"
    with pytest.raises(ValidationFailed):
        make(org.zhang_wei, "旧级别公司", level="A")
    for bad in ([], ["A", "A"], ["x" * 21]):
        with pytest.raises(ValidationFailed):
            services.customer_settings_update(actor=org.admin, levels=bad)


def test_pool_settings_are_checked(org):
    services.customer_settings_update(actor=org.admin, pool={"claim_limit": "5"})
    assert config.pool_rules()["claim_limit"] == 5
    assert config.pool_rules()["protection_days"] == 30
    for bad in ({"claim_limit": "many"}, {"no_won_days": -1}):
        with pytest.raises(ValidationFailed) as exc:
            services.customer_settings_update(actor=org.admin, pool=bad)
        assert exc.value.field.startswith("pool.")


# ------------------------------------------------------------------ collaboration


def test_collaboration_request_and_approval(org, existing):
    with pytest.raises(NotFound):
        customer_get(actor=org.wang_fang, customer_id=existing.pk)
    req = services.collaboration_request_create(
        actor=org.wang_fang, customer_id=existing.pk, reason="我也在跟这家"
    )
    assert req.status == RequestStatus.PENDING
    # Asking twice returns the same pending request.
    again = services.collaboration_request_create(actor=org.wang_fang, customer_id=existing.pk)
    assert again.pk == req.pk
    # Only the owner, the owner's managers or an administrator decide.
    for outsider in (org.huang_qiang, org.wang_fang, org.zhao_min):
        with pytest.raises(NotFound):
            services.collaboration_request_decide(actor=outsider, request_id=req.pk, approve=True)
    services.collaboration_request_decide(actor=org.li_na, request_id=req.pk, approve=True)
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert req.decided_by == org.li_na
    clear_cache(org.wang_fang)
    assert customer_get(actor=org.wang_fang, customer_id=existing.pk).pk == existing.pk
    assert existing.pk in set(visible(org.wang_fang, Customer).values_list("pk", flat=True))
    assert visible(org.wang_fang, Contact).filter(customer=existing).count() == 1
    assert TimelineEvent.objects.filter(customer=existing, kind="collaborator").exists()
    with pytest.raises(ValidationFailed):
        services.collaboration_request_decide(actor=org.admin, request_id=req.pk, approve=False)
    with pytest.raises(ValidationFailed):
        services.collaboration_request_create(actor=org.wang_fang, customer_id=existing.pk)
    # A collaborator sees, but does not edit.
    with pytest.raises(PermissionDenied):
        services.customer_update(
            actor=org.wang_fang,
            customer=existing,
            expected_version=existing.version,
            data={"city": "X"},
        )
    services.collaborator_remove(actor=org.zhang_wei, customer=existing, user=org.wang_fang)
    assert not CustomerCollaborator.objects.exists()
    clear_cache(org.wang_fang)
    with pytest.raises(NotFound):
        customer_get(actor=org.wang_fang, customer_id=existing.pk)


def test_collaboration_rejected(org, existing):
    req = services.collaboration_request_create(actor=org.wang_fang, customer_id=existing.pk)
    services.collaboration_request_decide(actor=org.zhang_wei, request_id=req.pk, approve=False)
    assert CollaborationRequest.objects.get(pk=req.pk).status == RequestStatus.REJECTED
    assert not CustomerCollaborator.objects.exists()
    with pytest.raises(NotFound):
        customer_get(actor=org.wang_fang, customer_id=existing.pk)


def test_collaboration_request_edge_cases(org, existing):
    with pytest.raises(NotFound):
        services.collaboration_request_create(actor=org.wang_fang, customer_id=999999)
    with pytest.raises(ValidationFailed):
        services.collaboration_request_create(actor=org.zhang_wei, customer_id=existing.pk)
