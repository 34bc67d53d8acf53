"""Timeline entries of contracts and payments, called from the services.

Never an amount in a summary or in `data`: the customer's timeline is shown to everyone who
may see the customer (service, marketing, collaborators), whatever they may see of contracts.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from crm.contracts.models import Contract, ContractStatus, Payment, PaymentPlan
from crm.timeline.services import timeline_append


def _label(status: str) -> str:
    return str(ContractStatus(status).label) if status in ContractStatus.values else status


def contract_created(contract: Contract, actor: Any, source: str = "") -> None:
    summary = _("新建合同 %(number)s「%(name)s」") % {
        "number": contract.number,
        "name": contract.name,
    }
    if source:
        summary = f"{summary}{source}"
    timeline_append(
        customer_id=contract.customer_id,
        kind="contract_created",
        actor=actor,
        summary=summary,
        data={"number": contract.number, "status": contract.status},
        ref_entity="contract",
        ref_id=contract.pk,
    )


def contract_status_changed(
    contract: Contract, actor: Any, before: str, after: str, reason: str = ""
) -> None:
    summary = _("合同 %(number)s：%(old)s → %(new)s") % {
        "number": contract.number,
        "old": _label(before),
        "new": _label(after),
    }
    if reason:
        summary = _("%(summary)s（%(reason)s）") % {"summary": summary, "reason": reason}
    timeline_append(
        customer_id=contract.customer_id,
        kind="contract_status",
        actor=actor,
        summary=summary,
        data={"number": contract.number, "from": before, "to": after, "reason": reason},
        ref_entity="contract",
        ref_id=contract.pk,
    )


def contract_deleted(contract: Contract, actor: Any) -> None:
    timeline_append(
        customer_id=contract.customer_id,
        kind="contract_status",
        actor=actor,
        summary=_("删除了合同 %(number)s（可在回收站恢复）") % {"number": contract.number},
        ref_entity="contract",
        ref_id=contract.pk,
    )


def payment_received(payment: Payment, contract: Contract, plan: PaymentPlan | None) -> None:
    if plan is not None:
        summary = _("合同 %(number)s 第 %(seq)d 期回款已登记") % {
            "number": contract.number,
            "seq": plan.seq,
        }
    else:
        summary = _("合同 %(number)s 回款已登记") % {"number": contract.number}
    timeline_append(
        customer_id=contract.customer_id,
        kind="payment_received",
        actor=payment.recorded_by,
        summary=summary,
        data={"number": contract.number, "received_on": payment.received_on},
        ref_entity="payment",
        ref_id=payment.pk,
    )


def payment_removed(payment: Payment, contract: Contract, actor: Any) -> None:
    timeline_append(
        customer_id=contract.customer_id,
        kind="payment_received",
        actor=actor,
        summary=_("撤销了合同 %(number)s 的一笔回款（可在回收站恢复）")
        % {"number": contract.number},
        ref_entity="payment",
        ref_id=payment.pk,
    )
