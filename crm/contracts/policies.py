"""Contract status rules in one place: the transition table, who may take each transition,
and what may change in each status. Services call these predicates and raise; templates
use them only to decide which buttons to draw.

The approvals issue plugs in here: `submit` (draft → pending_approval) will start an
approval flow, and the flow's final approval calls `contract_activate(..., by_approval=True)`;
replacing `_may_approve` (or registering an approval gate with `approval_gate_set`) is the
only change the status machine needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.access.visibility import can, is_admin, report_ids
from crm.contracts.models import Contract, ContractStatus

S = ContractStatus


@dataclass(frozen=True)
class Transition:
    action: str  # service / API / URL name: submit, activate, ...
    sources: frozenset[str]
    target: str
    label: Any  # the button
    done: Any  # the message after it
    reason_required: bool = False
    style: str = "primary"  # the button's colour


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(
            "submit",
            frozenset({S.DRAFT}),
            S.PENDING_APPROVAL,
            _("提交审批"),
            _("合同已提交审批"),
        ),
        Transition(
            "withdraw",
            frozenset({S.PENDING_APPROVAL}),
            S.DRAFT,
            _("退回草稿"),
            _("合同已退回草稿，可以修改后重新提交"),
            style="secondary",
        ),
        Transition(
            "activate",
            frozenset({S.PENDING_APPROVAL}),
            S.ACTIVE,
            _("审批通过，生效"),
            _("合同已生效"),
            style="success",
        ),
        Transition(
            "close",
            frozenset({S.ACTIVE}),
            S.CLOSED,
            _("结束合同"),
            _("合同已结束"),
            style="secondary",
        ),
        Transition(
            "cancel",
            frozenset({S.DRAFT, S.PENDING_APPROVAL, S.ACTIVE}),
            S.CANCELLED,
            _("作废"),
            _("合同已作废"),
            reason_required=True,
            style="danger",
        ),
    )
}

# Fields a change may touch in each status. Key terms (amount, customer, number) are frozen
# once the contract is submitted: what was approved is what is in force.
_CORE = frozenset({"number", "name", "customer", "amount", "currency"})
_DATES = frozenset({"signed_on", "start_date", "end_date"})
_TEXT = frozenset({"terms", "notes", "owner"})
EDITABLE_FIELDS: dict[str, frozenset[str]] = {
    S.DRAFT: _CORE | _DATES | _TEXT,
    S.PENDING_APPROVAL: frozenset({"notes"}),
    S.ACTIVE: frozenset({"name", "notes", "owner"}) | _DATES,
    S.CLOSED: frozenset({"notes"}),
    S.CANCELLED: frozenset(),
}
# The payment plan may be (re)arranged while drafting and while the contract runs.
PLAN_EDITABLE = frozenset({S.DRAFT, S.ACTIVE})
# Money is received only against a contract in force.
PAYABLE = frozenset({S.ACTIVE})
# Contracts whose unpaid balance is owed (the receivable): in force, or ended unpaid.
RECEIVABLE = frozenset({S.ACTIVE, S.CLOSED})
# Attachments are added and removed while the contract is being prepared or runs.
ATTACHABLE = frozenset({S.DRAFT, S.PENDING_APPROVAL, S.ACTIVE})
ATTACHMENT_REMOVABLE = frozenset({S.DRAFT})


def _may_approve(actor: Any, contract: Contract) -> bool:
    """Until the approvals issue: administrators and the owner's managers (anyone above the
    owner in the manager chain) approve. Never the owner themself."""
    if is_admin(actor):
        return True
    if actor.pk == contract.owner_id:
        return False
    return contract.owner_id in report_ids(actor)


# An approval flow may take over activation: when set, `activate` is only possible through
# it (`by_approval=True`). Set by the approvals app.
_APPROVAL_GATE: dict[str, Callable[[Contract], bool] | None] = {"activate": None}


def approval_gate_set(action: str, gate: Callable[[Contract], bool] | None) -> None:
    """gate(contract) → True when the action must come from an approval flow."""
    _APPROVAL_GATE[action] = gate


def transition_get(action: str) -> Transition | None:
    return TRANSITIONS.get(action)


def contract_can_transition(
    actor: Any, contract: Contract, action: str, *, by_approval: bool = False
) -> bool:
    """May `actor` take `action` on `contract` now (status and rights)?"""
    t = TRANSITIONS.get(action)
    if t is None or contract.status not in t.sources:
        return False
    if action == "activate":
        gate = _APPROVAL_GATE.get("activate")
        if gate is not None and gate(contract) and not by_approval:
            return False
        return by_approval or (can(actor, "view", contract) and _may_approve(actor, contract))
    return can(actor, "edit", contract)


def contract_actions(actor: Any, contract: Contract) -> list[Transition]:
    """The transitions to offer on the contract's page."""
    return [t for t in TRANSITIONS.values() if contract_can_transition(actor, contract, t.action)]


def contract_editable_fields(contract: Contract) -> frozenset[str]:
    return EDITABLE_FIELDS.get(contract.status, frozenset())


def contract_can_edit_plan(actor: Any, contract: Contract) -> bool:
    return contract.status in PLAN_EDITABLE and can(actor, "edit", contract)


def contract_can_attach(actor: Any, contract: Contract) -> bool:
    return contract.status in ATTACHABLE and can(actor, "edit", contract)
