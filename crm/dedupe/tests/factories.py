"""Customers for dedupe tests: created by the administrator (duplicates allowed), owned by
whoever the test says."""

from __future__ import annotations

from typing import Any

from crm.customers import services as customer_services
from crm.customers.models import Customer
from crm.dedupe.services import PairInput, duplicate_pairs_record


def make(owner: Any, name: str, *, contacts: list | None = None, **data: Any) -> Customer:
    from crm.access.models import User

    admin = User.objects.get(username="admin")
    return customer_services.customer_create(
        actor=admin,
        data={"name": name, **data},
        contacts=contacts,
        owner=owner,
        allow_duplicate=True,
    )


def pair_of(a: Customer, b: Customer, score: float = 95.0, reasons: list[str] | None = None):
    from crm.dedupe.models import DuplicatePair

    duplicate_pairs_record(
        pairs=[PairInput(a.pk, b.pk, score, reasons or ["名称相同"], False, True)]
    )
    return DuplicatePair.objects.get(a_id=min(a.pk, b.pk), b_id=max(a.pk, b.pk))
