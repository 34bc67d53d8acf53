"""The assignment rules engine: which rule fits a lead, and who in its team gets it.

Rules are evaluated in `order`; the first active rule that matches the lead AND can name a
person assigns it. A matching rule whose team has nobody to give the lead to is skipped
(and said so in the log), so a team on holiday does not swallow leads. When no rule
assigns, the lead goes to the configured fallback user, or else to the leads pool.

Round-robin keeps its position on the rule (`last_user_id`); the rule row is locked with
SELECT … FOR UPDATE while the next member is picked, so two leads arriving at once go to
two different people. Least-loaded counts each member's open leads under the same lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext as _

from crm.access.models import Department, User
from crm.leads.models import AssignmentRule, Lead, LeadStatus, RuleMatch, RuleStrategy
from crm.leads.regions import province_normalize

OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
SALES_ROLES = ("sales_rep", "sales_manager")


@dataclass
class Decision:
    user: User | None
    rule: AssignmentRule | None
    reason: str
    # Rules that matched but could not assign (empty team, inactive user), in order.
    skipped: list[str] = field(default_factory=list)


def _norm(text: Any) -> str:
    return str(text or "").strip().lower()


def rule_matches(rule: AssignmentRule, values: dict[str, Any]) -> bool:
    """Does the lead (its cleaned values) fit the rule's condition?"""
    wanted = [str(v).strip() for v in (rule.values or []) if str(v).strip()]
    if rule.match == RuleMatch.ANY:
        return True
    if rule.match == RuleMatch.REGION:
        province = province_normalize(
            str(values.get("province") or ""), city=str(values.get("city") or "")
        )
        return bool(province) and province in {province_normalize(v) for v in wanted}
    if rule.match == RuleMatch.INDUSTRY:
        # Industry is free text: "汽车" matches "汽车零部件制造".
        industry = _norm(values.get("industry"))
        return bool(industry) and any(_norm(v) in industry for v in wanted)
    if rule.match == RuleMatch.SOURCE:
        source = _norm(values.get("source"))
        return bool(source) and source in {_norm(v) for v in wanted}
    return False


def team_members(department: Department | None) -> list[User]:
    """Who a team rule deals leads to: the active sales reps of the department and its
    sub-departments, by id; the team's managers only when it has no rep."""
    if department is None or not department.is_active:
        return []
    base = User.objects.filter(is_active=True, department__path__startswith=department.path)
    for code in SALES_ROLES:
        ids = list(
            base.filter(roles__code=code).order_by("id").values_list("id", flat=True).distinct()
        )
        if ids:
            return list(User.objects.filter(pk__in=ids).order_by("id"))
    return []


def open_lead_counts(user_ids: list[int]) -> dict[int, int]:
    rows = (
        Lead.objects.filter(owner_id__in=user_ids, status__in=OPEN_STATUSES)
        .values("owner_id")
        .annotate(n=Count("id"))
    )
    counts = {pk: 0 for pk in user_ids}
    counts.update({r["owner_id"]: r["n"] for r in rows})
    return counts


def _next_in_turn(members: list[User], last_user_id: int | None) -> User:
    for member in members:
        if last_user_id is None or member.pk > last_user_id:
            return member
    return members[0]


def _match_text(rule: AssignmentRule, values: dict[str, Any]) -> str:
    if rule.match == RuleMatch.REGION:
        province = province_normalize(
            str(values.get("province") or ""), city=str(values.get("city") or "")
        )
        return _("省份「%(v)s」") % {"v": province}
    if rule.match == RuleMatch.INDUSTRY:
        return _("行业「%(v)s」") % {"v": values.get("industry") or ""}
    if rule.match == RuleMatch.SOURCE:
        return _("来源「%(v)s」") % {"v": values.get("source") or ""}
    return _("所有线索")


def _pick(rule: AssignmentRule, *, commit: bool) -> tuple[User | None, str]:
    """The person the rule gives the lead to (None: nobody available) and how."""
    if rule.strategy == RuleStrategy.USER:
        user = rule.user
        if user is None or not user.is_active:
            return None, _("指定负责人不可用")
        return user, _("指定负责人")
    members = team_members(rule.department)
    team = rule.department.name if rule.department else "—"
    if not members:
        return None, _("团队「%(team)s」没有可分配的销售") % {"team": team}
    if rule.strategy == RuleStrategy.ROUND_ROBIN:
        user = _next_in_turn(members, rule.last_user_id)
        if commit:
            AssignmentRule.objects.filter(pk=rule.pk).update(last_user_id=user.pk)
            rule.last_user_id = user.pk
        return user, _("团队「%(team)s」内轮流分配") % {"team": team}
    counts = open_lead_counts([m.pk for m in members])
    user = min(members, key=lambda m: (counts[m.pk], m.pk))
    return user, _("团队「%(team)s」中未处理线索最少（%(n)d 条）") % {
        "team": team,
        "n": counts[user.pk],
    }


def assignment_decide(values: dict[str, Any], *, commit: bool) -> Decision:
    """Evaluate the rules for a lead's values.

    commit=True (a real assignment, inside the caller's transaction): lock each rule row
    that is tried and move round-robin cursors. commit=False (the "test a lead" preview):
    read only, nothing changes.
    """
    from crm.leads.config import assignment_settings

    skipped: list[str] = []
    rules = AssignmentRule.objects.filter(is_active=True).order_by("order", "id")
    for rule in rules.select_related("department", "user"):
        if not rule_matches(rule, values):
            continue
        if commit and rule.strategy != RuleStrategy.USER:
            locked = (
                AssignmentRule.objects.select_for_update(of=("self",))
                .select_related("department", "user")
                .get(pk=rule.pk)
            )
            rule = locked
        user, how = _pick(rule, commit=commit)
        if user is None:
            skipped.append(_("规则「%(rule)s」已跳过：%(why)s") % {"rule": rule.name, "why": how})
            continue
        reason = _("%(match)s符合规则「%(rule)s」，%(how)s") % {
            "match": _match_text(rule, values),
            "rule": rule.name,
            "how": how,
        }
        return Decision(user, rule, reason, skipped)
    fallback_id = assignment_settings().get("fallback_user_id")
    if fallback_id:
        user = User.objects.filter(pk=fallback_id, is_active=True).first()
        if user is not None:
            return Decision(user, None, _("没有规则匹配，分给默认负责人"), skipped)
    return Decision(None, None, _("没有规则匹配，进入线索池"), skipped)
