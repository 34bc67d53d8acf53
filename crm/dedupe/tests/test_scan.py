"""The scan: pairs found in the database by exact keys and blocking keys, queued once,
refreshed, made obsolete, never reopened once dismissed; the incremental scan; the command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from crm.customers.models import Customer
from crm.customers.normalize import credit_code_check_char
from crm.dedupe.models import DuplicatePair, PairSource, PairStatus
from crm.dedupe.services import duplicate_pair_dismiss, duplicate_scan
from crm.dedupe.tests.factories import make

pytestmark = pytest.mark.django_db


def code(n: int) -> str:
    first17 = f"91330100{n:09d}"
    return first17 + credit_code_check_char(first17)


def pairs() -> dict[frozenset[str], DuplicatePair]:
    out = {}
    for p in DuplicatePair.objects.filter(status=PairStatus.OPEN).select_related("a", "b"):
        out[frozenset((p.a.name, p.b.name))] = p
    return out


def test_full_scan_finds_each_kind(org):
    u = org.zhang_wei
    make(u, "杭州西湖电子科技有限公司", credit_code=code(1))
    make(u, "西湖电子(杭州)", credit_code=code(1))  # same credit code
    make(u, "宁波东方电缆股份有限公司", contacts=[{"name": "王", "mobile": "13812345678"}])
    make(u, "东方电缆宁波销售部", contacts=[{"name": "李", "mobile": "13812345678"}])  # phone
    make(u, "温州海康维视科技有限公司")
    make(u, "温州海康威视科技")  # homophone, same city
    make(u, "嘉兴南湖纺织有限公司", province="浙江")
    make(u, "南湖纺织有限公司", province="浙江")  # no city: q: against r:
    make(u, "绍兴黄酒食品有限公司")
    make(u, "黄酒食品有限公司")  # no province at all: p:* against p:浙江
    make(u, "深圳华信化工有限公司")
    make(u, "杭州华信化工有限公司")  # same core, two provinces: too weak to queue
    make(u, "台州远航信息技术有限公司", industry="软件")
    make(u, "台州远航化工有限公司", industry="化工")  # same short name, other trade: too weak

    result = duplicate_scan(full=True)
    found = pairs()
    assert result.full and result.created == len(found)
    cc = found[frozenset(("杭州西湖电子科技有限公司", "西湖电子(杭州)"))]
    assert cc.exact and cc.score == 100 and "统一社会信用代码相同" in cc.reasons
    phone = found[frozenset(("宁波东方电缆股份有限公司", "东方电缆宁波销售部"))]
    assert phone.exact and any("电话" in r for r in phone.reasons)
    assert frozenset(("温州海康维视科技有限公司", "温州海康威视科技")) in found
    assert frozenset(("嘉兴南湖纺织有限公司", "南湖纺织有限公司")) in found
    assert frozenset(("绍兴黄酒食品有限公司", "黄酒食品有限公司")) in found
    assert frozenset(("深圳华信化工有限公司", "杭州华信化工有限公司")) not in found
    assert frozenset(("台州远航信息技术有限公司", "台州远航化工有限公司")) not in found
    assert all(p.source == PairSource.SCAN for p in found.values())

    # again: nothing new, nothing changed
    again = duplicate_scan(full=True)
    assert (again.created, again.updated, again.obsoleted) == (0, 0, 0)


def test_rescan_obsoletes_vanished_pairs_and_keeps_dismissed(org):
    a = make(org.zhang_wei, "杭州西湖电子科技有限公司")
    make(org.zhang_wei, "杭州西湖电子科技")
    c = make(org.zhang_wei, "宁波东方电缆有限公司")
    make(org.zhang_wei, "宁波东方电缆")
    duplicate_scan(full=True)
    found = pairs()
    assert len(found) == 2
    dismissed = found[frozenset(("宁波东方电缆有限公司", "宁波东方电缆"))]
    duplicate_pair_dismiss(actor=org.admin, pair=dismissed)
    # a renamed customer no longer matches: its pair becomes obsolete
    Customer.objects.filter(pk=a.pk).update(name="完全无关的名字", name_key="完全无关的名字")
    Customer.objects.filter(pk=a.pk).update(updated_at=a.updated_at.replace(year=2099))
    result = duplicate_scan(full=True)
    assert result.obsoleted == 1
    assert pairs() == {}
    dismissed.refresh_from_db()
    assert dismissed.status == PairStatus.DISMISSED
    assert c.pk in (dismissed.a_id, dismissed.b_id)


def test_deleted_customer_makes_its_pair_obsolete(org):
    from crm.customers.services import customer_delete

    a = make(org.zhang_wei, "杭州西湖电子科技有限公司")
    make(org.zhang_wei, "杭州西湖电子科技")
    duplicate_scan(full=True)
    customer_delete(actor=org.admin, customer=a)
    duplicate_scan(full=False)
    assert DuplicatePair.objects.get().status == PairStatus.OBSOLETE


def test_incremental_scan_looks_at_changed_customers_only(org):
    make(org.zhang_wei, "杭州西湖电子科技有限公司")
    first = duplicate_scan(full=True)
    assert first.created == 0
    make(org.zhang_wei, "杭州西湖电子科技")
    result = duplicate_scan(full=False)
    assert not result.full
    assert result.customers == 1
    assert result.created == 1


def test_command(org):
    make(org.zhang_wei, "杭州西湖电子科技有限公司")
    make(org.zhang_wei, "杭州西湖电子科技")
    out = StringIO()
    call_command("dedupe", "scan", stdout=out)
    assert "1 new pairs" in out.getvalue()
    out = StringIO()
    call_command("dedupe", "scan", "--recent", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert body["full"] is False and body["created"] == 0


def test_scan_job_is_registered():
    from crm.scheduler.registry import job_get

    job = job_get("dedupe_scan")
    assert job.at is not None


def test_demo_step_adds_legacy_duplicates_once(org):
    from crm.dedupe.demo import demo_duplicates

    make(org.li_na, "杭州西湖电子科技有限公司", contacts=[{"name": "王", "mobile": "13812345678"}])
    users = {"admin": org.admin, "li.na": org.li_na, "zhang.wei": org.zhang_wei}
    assert "1 legacy records" in demo_duplicates(users)
    pair = DuplicatePair.objects.get()
    assert {pair.a.name, pair.b.name} == {"杭州西湖电子科技有限公司", "西湖电子科技(杭州)"}
    assert pair.exact  # the shared mobile
    assert "0 legacy records" in demo_duplicates(users)
