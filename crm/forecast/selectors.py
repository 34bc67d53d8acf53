"""Every read of the forecast and of the sales targets.

The forecast covers the deals of the owners in the actor's opportunity scope — the rows
``visible(actor, Opportunity)`` gives through the scope (own, department, subtree, reports,
all), without the deals the actor only sees as a collaborator of the customer (those
belong to someone else's forecast). It is summed from the summary table ForecastMonth,
which database triggers keep in step with the opportunities (crm/forecast/summary.py).

Figures (per owner, team or month of the period):

* ``open_amount`` — every open deal whose expected close date falls in the month;
* ``weighted`` — Σ amount × probability ÷ 100 over open deals, without the omitted ones;
* ``pipeline`` / ``best`` / ``commit`` — forecast categories, cumulative as usual:
  commit = 承诺; best = 乐观 + 承诺; pipeline = 管道 + 乐观 + 承诺 (every open deal that is
  not omitted). Won deals are not in these; they are ``won``;
* ``won`` — deals won in the month (by the month of ``closed_at``, local time);
* ``target`` — see targets_for(): a person's monthly targets; a team's is its department's
  target where one is set, else the sum of its members' (and sub-teams');
* ``attainment`` — won ÷ target × 100.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access.fieldsec import field_level
from crm.access.models import Department, FieldAccess, User
from crm.access.registry import entity_get
from crm.access.visibility import (
    _cache,
    can,
    grant_for,
    is_admin,
    report_ids,
    scope_q,
    visible,
)
from crm.core.errors import ValidationFailed
from crm.forecast import summary
from crm.forecast.models import ForecastMonth, SalesTarget

# ---------------------------------------------------------------- periods

PERIODS: dict[str, Any] = {
    "this_quarter": gettext_lazy("本季度"),
    "next_quarter": gettext_lazy("下季度"),
    "this_year": gettext_lazy("本年度"),
    "next_12": gettext_lazy("未来 12 个月"),
    "custom": gettext_lazy("自定义月份"),
}
GROUPS: dict[str, Any] = {
    "owner": gettext_lazy("按销售"),
    "team": gettext_lazy("按团队"),
    "month": gettext_lazy("按月份"),
}
MAX_MONTHS = 36
SHORTLIST_MAX = 60


def month_add(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_parse(value: Any, field: str) -> dt.date:
    """ "2026-11" (or a date in the month) → 2026-11-01."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = str(value or "").strip()
    try:
        year, month = text[:7].split("-")
        parsed = dt.date(int(year), int(month), 1)
    except (ValueError, TypeError):
        raise ValidationFailed(_("月份格式应为 YYYY-MM"), field=field) from None
    if not 2000 <= parsed.year <= 2100:
        raise ValidationFailed(_("月份超出范围"), field=field)
    return parsed


@dataclass(frozen=True)
class Period:
    key: str
    months: tuple[dt.date, ...]

    @property
    def first(self) -> dt.date:
        return self.months[0]

    @property
    def last(self) -> dt.date:
        return self.months[-1]

    @property
    def label(self) -> str:
        if self.first == self.last:
            return f"{self.first:%Y-%m}"
        return f"{self.first:%Y-%m} ~ {self.last:%Y-%m}"


def period_resolve(
    *,
    period: str | None = None,
    month_from: Any = None,
    month_to: Any = None,
    today: dt.date | None = None,
) -> Period:
    """this_quarter (the default), next_quarter, this_year, next_12, or custom months
    (from/to, at most 36 months). A from/to without a period means custom."""
    today = today or timezone.localdate()
    key = (period or "").strip() or ("custom" if month_from or month_to else "this_quarter")
    if key not in PERIODS:
        raise ValidationFailed(_("请选择有效的期间"), field="period")
    this_month = today.replace(day=1)
    quarter_start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    if key == "this_quarter":
        first, count = quarter_start, 3
    elif key == "next_quarter":
        first, count = month_add(quarter_start, 3), 3
    elif key == "this_year":
        first, count = dt.date(today.year, 1, 1), 12
    elif key == "next_12":
        first, count = this_month, 12
    else:
        first = month_parse(month_from, "from") if month_from else this_month
        last = month_parse(month_to, "to") if month_to else first
        if last < first:
            raise ValidationFailed(_("结束月份不能早于开始月份"), field="to")
        count = (last.year - first.year) * 12 + last.month - first.month + 1
        if count > MAX_MONTHS:
            raise ValidationFailed(_("期间最长 %(n)d 个月") % {"n": MAX_MONTHS}, field="to")
    return Period(key=key, months=tuple(month_add(first, i) for i in range(count)))


# ---------------------------------------------------------------- figures


def _yuan(fen: int | None) -> Decimal | None:
    if fen is None:
        return None
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


@dataclass
class Figures:
    """Sums in fen (weighted: fen × percent); read them in yuan through the properties."""

    open_fen: int = 0
    open_count: int = 0
    weighted_raw: int = 0
    pipeline_fen: int = 0
    best_fen: int = 0
    commit_fen: int = 0
    won_fen: int = 0
    won_count: int = 0
    target_fen: int | None = None

    def add_sums(self, sums: tuple[Any, ...]) -> None:
        """Add one summary row's sums: pipeline, best, commit, omitted (fen), weighted,
        open deals, won (fen), won deals — the columns of ForecastMonth, in order."""
        pipeline, best, commit, omitted, weighted, open_deals, won, won_deals = (
            int(v or 0) for v in sums
        )
        self.open_fen += pipeline + best + commit + omitted
        self.open_count += open_deals
        self.weighted_raw += weighted
        # Cumulative categories: best includes commit; pipeline includes best and commit.
        self.pipeline_fen += pipeline + best + commit
        self.best_fen += best + commit
        self.commit_fen += commit
        self.won_fen += won
        self.won_count += won_deals

    def add(self, other: Figures) -> None:
        self.open_fen += other.open_fen
        self.open_count += other.open_count
        self.weighted_raw += other.weighted_raw
        self.pipeline_fen += other.pipeline_fen
        self.best_fen += other.best_fen
        self.commit_fen += other.commit_fen
        self.won_fen += other.won_fen
        self.won_count += other.won_count

    def add_target(self, fen: int | None) -> None:
        if fen is not None:
            self.target_fen = (self.target_fen or 0) + fen

    @property
    def open_amount(self) -> Decimal:
        return _yuan(self.open_fen) or Decimal("0.00")

    @property
    def weighted(self) -> Decimal:
        # fen × percent → yuan: ÷ 100 (percent) ÷ 100 (fen), rounded half up to the fen.
        return (Decimal(self.weighted_raw) / 10_000).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )

    @property
    def pipeline(self) -> Decimal:
        return _yuan(self.pipeline_fen) or Decimal("0.00")

    @property
    def best(self) -> Decimal:
        return _yuan(self.best_fen) or Decimal("0.00")

    @property
    def commit(self) -> Decimal:
        return _yuan(self.commit_fen) or Decimal("0.00")

    @property
    def won(self) -> Decimal:
        return _yuan(self.won_fen) or Decimal("0.00")

    @property
    def target(self) -> Decimal | None:
        return _yuan(self.target_fen)

    @property
    def attainment(self) -> Decimal | None:
        """Won as a percentage of the target (None without a positive target)."""
        if not self.target_fen or self.target_fen <= 0:
            return None
        return (Decimal(self.won_fen) * 100 / Decimal(self.target_fen)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )

    def as_dict(self, *, amounts: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"open_count": self.open_count, "won_count": self.won_count}
        for name in ("open_amount", "weighted", "pipeline", "best", "commit", "won", "target"):
            out[name] = getattr(self, name) if amounts else None
        out["attainment"] = self.attainment if amounts else None
        return out


@dataclass
class ForecastRow:
    key: str  # "owner:3", "team:5", "team:none", "month:2026-11"
    label: str
    figures: Figures
    owner_id: int | None = None
    team_id: int | None = None
    team: str = ""
    month: dt.date | None = None


@dataclass
class Forecast:
    period: Period
    group: str
    rows: list[ForecastRow]
    months: list[ForecastRow]  # one per month of the period, for the chart
    totals: Figures
    amounts_visible: bool
    scope: str  # "all", "team" (several owners) or "own"
    pipeline_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- whose deals


def _user_q(q: Any, owner: str) -> Q:
    """An owner predicate of visible()'s scope (e.g. owner__department__path__startswith)
    rewritten as the same predicate on the users themselves."""
    if not isinstance(q, Q):
        raise ValueError(f"unexpected predicate {q!r}")
    out = Q()
    out.connector = q.connector
    out.negated = q.negated
    children: list[Any] = []
    for child in cast(list[Any], q.children):
        if isinstance(child, Q):
            children.append(_user_q(child, owner))
            continue
        lookup, value = child
        if lookup == "pk__in" and not value:
            children.append(("pk__in", []))
        elif lookup == f"{owner}_id":
            children.append(("pk", value))
        elif lookup.startswith(f"{owner}_id__"):
            children.append(("pk__" + lookup[len(owner) + 5 :], value))
        elif lookup.startswith(f"{owner}__"):
            children.append((lookup[len(owner) + 2 :], value))
        else:
            raise ValueError(f"not an owner predicate: {lookup}")
    out.children = children
    return out


def _or_leaves(q: Any) -> list[Q]:
    if isinstance(q, Q) and q.connector == Q.OR and not q.negated:
        out: list[Q] = []
        for child in cast(list[Any], q.children):
            out.extend(_or_leaves(child))
        return out
    return [q if isinstance(q, Q) else Q(q)]


def scope_user_ids(actor: Any, entity_key: str) -> list[int] | None:
    """Ids of the users whose records of `entity_key` the actor sees through the scope of
    the view grant (not through shares or pools); None: everyone. Cached on the actor for
    the request, like the permission layer's own cache (cleared with it).

    The predicate is visible()'s own (scope_q), applied to the users themselves. Its
    "reports" branch (owner in [ids]) is taken as the list it already is rather than sent
    back to the database: a director's thousand reports would otherwise be a thousand
    parameters to prepare on every query."""
    grant = grant_for(actor, entity_key)
    if "view" not in grant.actions:
        return []
    entity = entity_get(entity_key)
    owner = entity.owner_field
    reach = grant.scope_for("view")
    if owner is None:
        return None
    # The users a reach covers do not depend on the entity: opportunities and targets with
    # the same reach share one answer.
    cache = _cache(actor).setdefault("forecast_scope", {})
    if reach in cache:
        return cast(list[int] | None, cache[reach])
    q = scope_q(actor, entity, reach, include_reports=True, include_extra=False)
    result: list[int] | None = None
    if q is not None:
        ids: set[int] = set()
        rest = Q(pk__in=[])
        for leaf in _or_leaves(q):
            children = leaf.children
            if (
                not leaf.negated
                and len(children) == 1
                and isinstance(children[0], tuple)
                and children[0][0] == f"{owner}_id__in"
                and isinstance(children[0][1], (list, tuple, set))
            ):
                ids.update(int(pk) for pk in children[0][1])
            else:
                rest |= _user_q(leaf, owner)
        ids.update(User.objects.filter(rest).values_list("pk", flat=True))
        result = sorted(ids)
    cache[reach] = result
    return result


def forecast_owner_scope(actor: Any) -> list[int] | None:
    """Ids of the users whose deals the actor's forecast covers; None: everyone."""
    return scope_user_ids(actor, "opportunity")


def amounts_visible(actor: Any) -> bool:
    """Sums of amounts reveal amounts: shown only to whom the opportunity amount is clear."""
    level = field_level(actor, "opportunity", "amount")
    return level in (FieldAccess.READONLY, FieldAccess.EDITABLE)


def _int_param(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_("请选择有效的选项"), field=field) from None
    if not 1 <= number <= 2**63 - 1:
        raise ValidationFailed(_("请选择有效的选项"), field=field)
    return number


# ---------------------------------------------------------------- SQL helpers


def _date_param(day: dt.date) -> Any:
    return connection.ops.adapt_datefield_value(day)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _fen(value: Any) -> int:
    """A summed DecimalField (a float or int on SQLite, a Decimal on PostgreSQL) in fen."""
    return int((Decimal(str(value or 0)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _in(column: str, ids: list[int] | None) -> tuple[str, list[Any]]:
    """`AND column IN (…)` for a list of ids (no condition for None = everyone)."""
    if ids is None:
        return "", []
    if not ids:
        return " AND 1 = 0", []
    if len(ids) <= 20_000:
        return f" AND {column} IN ({', '.join(['%s'] * len(ids))})", list(ids)
    sql, params = User.objects.filter(pk__in=ids).values("pk").query.sql_with_params()
    return f" AND {column} IN ({sql})", list(params)


# ---------------------------------------------------------------- targets


@dataclass
class _Org:
    parent: dict[int, int | None]
    path: dict[int, str]
    name: dict[int, str]
    children: dict[int | None, list[int]]


def _org() -> _Org:
    parent: dict[int, int | None] = {}
    path: dict[int, str] = {}
    name: dict[int, str] = {}
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent_id, dept_path, dept_name in Department.objects.order_by(
        "path", "sort", "id"
    ).values_list("pk", "parent_id", "path", "name"):
        parent[pk] = parent_id
        path[pk] = dept_path
        name[pk] = dept_name
        children[parent_id].append(pk)
    return _Org(parent, path, name, children)


@dataclass
class Targets:
    """The targets of a forecast, in fen."""

    by_user: dict[int, int]  # over the period
    by_team_month: dict[tuple[int | None, dt.date], int | None]  # team rows
    total_by_month: dict[dt.date, int | None]


def _target_reach(actor: Any, owners: list[int] | None) -> tuple[list[int] | None, bool]:
    """Whose person targets the actor may read among `owners`, and whether department
    targets are readable at all (their own visibility is checked per department)."""
    readable = scope_user_ids(actor, "sales_target")
    can_read = "view" in grant_for(actor, "sales_target").actions
    if readable is None:
        return owners, can_read
    if owners is None:
        return readable, can_read
    allowed = set(readable)
    return [u for u in owners if u in allowed], can_read


@dataclass
class _TargetData:
    by_user: dict[int, int]
    member: dict[tuple[int | None, dt.date], int]  # Σ people's targets per department, month
    dept_target: dict[tuple[int, dt.date], int]


def targets_for(
    *,
    actor: Any,
    months: tuple[dt.date, ...],
    owners: list[int] | None,
    org: _Org,
) -> _TargetData:
    """Targets visible to the actor for the owners of a forecast.

    A person's target counts for the person. A department's target counts where the
    forecast covers the whole department (every member of it and of its sub-departments is
    among `owners`): then it stands for the department, instead of the sum of its members'
    and sub-departments' targets. So a rep's forecast shows his own target, not his team's;
    a manager's shows the department's target when one is set, else the sum of the team's.
    """
    first, last = _date_param(months[0]), _date_param(months[-1])
    people, departments_readable = _target_reach(actor, owners)
    table = SalesTarget._meta.db_table
    users = User._meta.db_table
    by_user: dict[int, int] = {}
    member: dict[tuple[int | None, dt.date], int] = {}
    in_sql, in_params = _in("t.user_id", people)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.user_id, SUM(t.amount) FROM {table} t "  # noqa: S608
            f"WHERE t.user_id IS NOT NULL AND t.month >= %s AND t.month <= %s{in_sql} "
            "GROUP BY t.user_id",
            [first, last, *in_params],
        )
        for user_id, amount in cursor.fetchall():
            by_user[user_id] = _fen(amount)
        cursor.execute(
            f"SELECT u.department_id, t.month, SUM(t.amount) FROM {table} t "  # noqa: S608
            f"JOIN {users} u ON u.id = t.user_id "
            f"WHERE t.user_id IS NOT NULL AND t.month >= %s AND t.month <= %s{in_sql} "
            "GROUP BY u.department_id, t.month",
            [first, last, *in_params],
        )
        for dept, month, amount in cursor.fetchall():
            member[(dept, _as_date(month))] = _fen(amount)
        dept_target: dict[tuple[int, dt.date], int] = {}
        if departments_readable:
            cursor.execute(
                f"SELECT department_id, month, amount FROM {table} "  # noqa: S608
                "WHERE department_id IS NOT NULL AND month >= %s AND month <= %s",
                [first, last],
            )
            rows = cursor.fetchall()
            seen = _departments_seen(actor, org)
            dept_target = {
                (d, _as_date(m)): _fen(a) for d, m, a in rows if seen is None or d in seen
            }

    return _TargetData(by_user=by_user, member=member, dept_target=dept_target)


def _targets_rollup(
    data: _TargetData,
    *,
    months: tuple[dt.date, ...],
    owners: list[int] | None,
    org: _Org,
    teams: Iterable[int | None],
) -> Targets:
    """Team rows' and the totals' targets per month (see targets_for)."""
    by_user, member, dept_target = data.by_user, data.member, data.dept_target
    owner_set = None if owners is None else set(owners)
    covered: dict[int, bool] = {}
    has_owner: dict[int, bool] = {}
    if dept_target:
        all_members: dict[int, list[int]] = defaultdict(list)
        for user_id, dept in User.objects.filter(department__isnull=False).values_list(
            "pk", "department_id"
        ):
            all_members[dept].append(user_id)

        def walk(d: int) -> tuple[bool, bool]:
            inside = [owner_set is None or u in owner_set for u in all_members.get(d, [])]
            full, some = all(inside), any(inside)
            for c in org.children.get(d, []):
                c_full, c_some = walk(c)
                full, some = full and c_full, some or c_some
            covered[d], has_owner[d] = full, some
            return full, some

        for root in org.children.get(None, []):
            walk(root)

    def tree(d: int, month: dt.date) -> int | None:
        own = dept_target.get((d, month))
        if own is not None and covered.get(d) and has_owner.get(d):
            return own
        total = member.get((d, month))
        for c in org.children.get(d, []):
            sub = tree(c, month)
            if sub is not None:
                total = (total or 0) + sub
        return total

    # Departments with a member among the owners with a target, and their ancestors.
    relevant: set[int] = set()
    for d, _m in member:
        while d is not None and d not in relevant:
            relevant.add(d)
            d = org.parent.get(d)
    for d, _m in dept_target:
        while d is not None and d not in relevant:
            relevant.add(d)
            d = org.parent.get(d)
    team_set = {t for t in teams if t is not None}

    def leaf_in_scope(d: int) -> bool:
        """No sub-department of d has a team row."""
        prefix = org.path.get(d, "")
        return not any(o != d and org.path.get(o, "").startswith(prefix) for o in team_set)

    by_team_month: dict[tuple[int | None, dt.date], int | None] = {}
    total_by_month: dict[dt.date, int | None] = {}
    for month in months:
        total: int | None = member.get((None, month))
        for root in org.children.get(None, []):
            sub = tree(root, month) if root in relevant else None
            if sub is not None:
                total = (total or 0) + sub
        total_by_month[month] = total
        for team in teams:
            if team is None:
                by_team_month[(None, month)] = member.get((None, month))
            elif leaf_in_scope(team):
                by_team_month[(team, month)] = tree(team, month)
            else:
                by_team_month[(team, month)] = member.get((team, month))
    return Targets(by_user=by_user, by_team_month=by_team_month, total_by_month=total_by_month)


def _departments_seen(actor: Any, org: _Org) -> set[int] | None:
    """Departments whose targets the actor reads: theirs and those below (all: None)."""
    if scope_user_ids(actor, "sales_target") is None:
        return None
    if not actor.department_id:
        return set()
    prefix = org.path.get(actor.department_id, "")
    return {d for d, path in org.path.items() if prefix and path.startswith(prefix)}


# ---------------------------------------------------------------- the forecast


def _summary(
    key: str, period: Period, owners: list[int] | None, pipeline_id: int | None
) -> list[tuple[Any, ...]]:
    """Σ of each ForecastMonth column per `key` (owner_id or month): (key, *sums)."""
    sums = ", ".join(f"SUM({c})" for c in summary.SUMS)
    in_sql, in_params = _in("owner_id", owners)
    params: list[Any] = [_date_param(period.first), _date_param(period.last), *in_params]
    pipe_sql = ""
    if pipeline_id is not None:
        pipe_sql = " AND pipeline_id = %s"
        params.append(pipeline_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {key}, {sums} FROM {ForecastMonth._meta.db_table} "  # noqa: S608
            f"WHERE month >= %s AND month <= %s{in_sql}{pipe_sql} GROUP BY {key}",
            params,
        )
        return list(cursor.fetchall())


def forecast(
    *,
    actor: Any,
    period: Period,
    group: str = "owner",
    pipeline: Any = None,
    owner: Any = None,
    team: Any = None,
) -> Forecast:
    """The forecast of the period, grouped by owner, team or month (see the module doc)."""
    from crm.opportunities.models import Pipeline

    if group not in GROUPS:
        raise ValidationFailed(_("请选择有效的分组方式"), field="group")
    pipeline_id = _int_param(pipeline, "pipeline")
    if pipeline_id is not None and not Pipeline.objects.filter(pk=pipeline_id).exists():
        raise ValidationFailed(_("所选销售流程不存在"), field="pipeline")
    owner_id = actor.pk if owner == "me" else _int_param(owner, "owner")
    team_id = _int_param(team, "team")

    # The owners: the actor's scope, narrowed by the team and owner filters.
    scope = forecast_owner_scope(actor)
    owners: list[int] | None = scope
    if team_id is not None:
        chosen_team = Department.objects.filter(pk=team_id).first()
        if chosen_team is None:
            raise ValidationFailed(_("所选团队不存在"), field="team")
        members = set(
            User.objects.filter(department__path__startswith=chosen_team.path).values_list(
                "pk", flat=True
            )
        )
        owners = sorted(members if owners is None else members.intersection(owners))
    if owner_id is not None:
        owners = [owner_id] if owners is None or owner_id in owners else []

    by_month: dict[dt.date, Figures] = {m: Figures() for m in period.months}
    per_owner: dict[int, Figures] = defaultdict(Figures)
    if owners != []:
        for month, *sums in _summary("month", period, owners, pipeline_id):
            by_month.setdefault(_as_date(month), Figures()).add_sums(tuple(sums))
        if group in ("owner", "team"):
            for owner_pk, *sums in _summary("owner_id", period, owners, pipeline_id):
                per_owner[owner_pk].add_sums(tuple(sums))

    org = _org()
    if pipeline_id is None:
        data = targets_for(actor=actor, months=period.months, owners=owners, org=org)
    else:
        # Targets are not set per pipeline: against one pipeline's deals they would
        # understate attainment, so a pipeline's forecast has none.
        data = _TargetData(by_user={}, member={}, dept_target={})
    # Name the people with deals or a target.
    people: dict[int, tuple[str, int | None]] = {}
    wanted = sorted(set(per_owner) | set(data.by_user))
    if wanted:
        in_sql, in_params = _in("id", wanted)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, department_id, display_name, username "  # noqa: S608
                f"FROM {User._meta.db_table} WHERE 1 = 1{in_sql}",
                in_params,
            )
            for pk, dept, display_name, username in cursor.fetchall():
                people[pk] = (display_name or username, dept)
    user_dept = {pk: dept for pk, (_name, dept) in people.items()}
    teams: set[int | None] = set()
    if group == "team":
        teams = {user_dept.get(pk) for pk in wanted}
    targets = _targets_rollup(data, months=period.months, owners=owners, org=org, teams=teams)

    totals = Figures()
    month_rows: list[ForecastRow] = []
    for month in period.months:
        figures = by_month[month]
        figures.target_fen = targets.total_by_month.get(month)
        totals.add(figures)
        totals.add_target(figures.target_fen)
        month_rows.append(
            ForecastRow(
                key=f"month:{month:%Y-%m}", label=f"{month:%Y-%m}", figures=figures, month=month
            )
        )

    rows: list[ForecastRow] = []
    if group == "month":
        rows = month_rows
    elif group == "owner":
        for pk in set(per_owner) | set(targets.by_user):
            name, home = people.get(pk, (str(pk), None))
            figures = per_owner.get(pk) or Figures()
            figures.add_target(targets.by_user.get(pk))
            rows.append(
                ForecastRow(
                    key=f"owner:{pk}",
                    label=name,
                    figures=figures,
                    owner_id=pk,
                    team_id=home,
                    team=org.name.get(home, "") if home else "",
                )
            )
        rows.sort(key=lambda r: (org.path.get(r.team_id or 0, "~"), r.label, r.owner_id or 0))
    else:
        per_team: dict[int | None, Figures] = defaultdict(Figures)
        for pk, figures in per_owner.items():
            per_team[user_dept.get(pk)].add(figures)
        for team_pk in teams:
            figures = per_team[team_pk]
            for month in period.months:
                figures.add_target(targets.by_team_month.get((team_pk, month)))
            if not (figures.open_count or figures.won_count or figures.target_fen is not None):
                continue
            label = org.name.get(team_pk, "") if team_pk else _("未分配部门")
            rows.append(
                ForecastRow(
                    key=f"team:{team_pk or 'none'}",
                    label=label,
                    figures=figures,
                    team_id=team_pk,
                    team=label,
                )
            )
        rows.sort(key=lambda r: org.path.get(r.team_id or 0, "~"))

    if scope is None:
        scope_kind = "all"
    elif grant_for(actor, "opportunity").scope_for("view") in ("none", "own") and not (
        report_ids(actor)
    ):
        scope_kind = "own"
    else:
        scope_kind = "team"
    return Forecast(
        period=period,
        group=group,
        rows=rows,
        months=month_rows,
        totals=totals,
        amounts_visible=amounts_visible(actor),
        scope=scope_kind,
        pipeline_id=pipeline_id,
        owner_id=owner_id,
        team_id=team_id,
    )


# ---------------------------------------------------------------- filter choices


def forecast_team_choices(*, actor: Any) -> list[tuple[int, str, int]]:
    """(id, name, depth) of the departments the actor may filter the forecast by: their own
    department and those below it; every department for a scope of "all"."""
    scope = forecast_owner_scope(actor)
    qs = Department.objects.filter(is_active=True).order_by("path", "sort", "id")
    if scope is not None:
        if not actor.department_id or scope == [actor.pk] or not scope:
            return []
        qs = qs.filter(path__startswith=actor.department.path)
    return [(d.pk, d.name, d.depth) for d in qs]


def forecast_owner_choices(*, actor: Any, include: Any = None) -> list[User]:
    """The owner picker: the actor and their reports (a short list; a big team is filtered
    by team first), plus the chosen owner when the actor's forecast covers them."""
    scope = forecast_owner_scope(actor)
    if scope is not None and len(scope) <= 1:
        return []
    reports = report_ids(actor)
    ids = {actor.pk, *(reports if len(reports) <= SHORTLIST_MAX else [])}
    chosen = _int_param(include, "owner") if include not in (None, "", "me") else None
    if chosen is not None and (scope is None or chosen in scope):
        ids.add(chosen)
    qs = User.objects.filter(pk__in=ids, is_active=True).select_related("department")
    return list(qs.order_by("department__path", "username")[: SHORTLIST_MAX + 2])


def forecast_pipeline_choices(*, actor: Any) -> list[tuple[int, str]]:
    from crm.opportunities.models import Pipeline

    if not can(actor, "view", Pipeline):
        return []
    return list(visible(actor, Pipeline).filter(is_active=True).values_list("pk", "name"))


# ---------------------------------------------------------------- targets: reading


def target_list(
    *,
    actor: Any,
    year: int | None = None,
    user: Any = None,
    department: Any = None,
) -> QuerySet[SalesTarget]:
    """Targets the actor may see, oldest month first."""
    qs = visible(actor, SalesTarget).select_related("user", "department")
    if year is not None:
        qs = qs.filter(month__year=year)
    user_id = _int_param(user, "user_id") if user != "me" else actor.pk
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    department_id = _int_param(department, "department_id")
    if department_id is not None:
        qs = qs.filter(department_id=department_id)
    return qs.order_by("month", "id")


def target_get(*, actor: Any, target_id: Any) -> SalesTarget:
    from crm.access.visibility import visible_get

    return visible_get(actor, SalesTarget, target_id)


def target_can_set(actor: Any) -> bool:
    return is_admin(actor) or "edit" in grant_for(actor, "sales_target").actions


def target_reach(actor: Any) -> tuple[list[int] | None, list[int] | None]:
    """(user ids, department ids) whose targets the actor may set; None: all of them.

    People: within the edit scope of sales_target (a manager: their department, the ones
    below it and their reports), never the actor themselves — one's own target is set from
    above. Departments: the actor's department and those below it for an edit scope of
    department/subtree (department: only their own), all for "all"."""
    if is_admin(actor):
        return None, None
    grant = grant_for(actor, "sales_target")
    if "edit" not in grant.actions:
        return [], []
    reach = grant.scope_for("edit")
    entity = entity_get("sales_target")
    q = scope_q(
        actor, entity, reach, include_reports=reach not in ("none", "own"), include_extra=False
    )
    if q is None:
        return None, None
    users = [
        pk
        for pk in User.objects.filter(_user_q(q, "user")).values_list("pk", flat=True)
        if pk != actor.pk
    ]
    departments: list[int] = []
    if actor.department_id and reach == "department":
        departments = [actor.department_id]
    elif actor.department_id and reach == "subtree":
        departments = list(
            Department.objects.filter(path__startswith=actor.department.path).values_list(
                "pk", flat=True
            )
        )
    return users, departments


@dataclass
class GridRow:
    key: str  # "u<id>" or "d<id>"
    label: str
    detail: str
    cells: list[tuple[dt.date, Decimal | None]]
    total: Decimal | None


def target_grid(
    *, actor: Any, year: int, team: Any = None, page: int = 1, per_page: int = 50
) -> tuple[list[GridRow], list[GridRow], int]:
    """The year's targets to edit: (department rows, people rows, number of people pages).

    People: active users within reach (a team filter narrows to a department's subtree)."""
    users, departments = target_reach(actor)
    team_id = _int_param(team, "team")
    people = User.objects.filter(is_active=True).select_related("department")
    if users is not None:
        people = people.filter(pk__in=users)
    else:
        people = people.exclude(pk=actor.pk) if not is_admin(actor) else people
    depts = Department.objects.filter(is_active=True)
    if departments is not None:
        depts = depts.filter(pk__in=departments)
    if team_id is not None:
        chosen = Department.objects.filter(pk=team_id).first()
        if chosen is None:
            raise ValidationFailed(_("所选团队不存在"), field="team")
        people = people.filter(department__path__startswith=chosen.path)
        depts = depts.filter(path__startswith=chosen.path)
    people = people.order_by("department__path", "username")
    count = people.count()
    pages = max((count + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    people_page = list(people[(page - 1) * per_page : page * per_page])
    dept_list = list(depts.order_by("path", "sort", "id"))
    months = [dt.date(year, m, 1) for m in range(1, 13)]
    stored = visible(actor, SalesTarget).filter(month__year=year)
    by_user: dict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    for user_id, month, amount in stored.filter(
        user_id__in=[u.pk for u in people_page]
    ).values_list("user_id", "month", "amount"):
        by_user[user_id][month] = amount
    by_dept: dict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    for dept_id, month, amount in stored.filter(
        department_id__in=[d.pk for d in dept_list]
    ).values_list("department_id", "month", "amount"):
        by_dept[dept_id][month] = amount

    def row(key: str, label: str, detail: str, values: dict[dt.date, Decimal]) -> GridRow:
        cells = [(m, values.get(m)) for m in months]
        set_values = [v for _m, v in cells if v is not None]
        total = sum(set_values, Decimal(0)) if set_values else None
        return GridRow(key, label, detail, cells, total)

    dept_rows = [row(f"d{d.pk}", d.name, _("部门目标"), by_dept.get(d.pk, {})) for d in dept_list]
    people_rows = [
        row(
            f"u{u.pk}",
            u.name,
            u.department.name if u.department_id and u.department else "",
            by_user.get(u.pk, {}),
        )
        for u in people_page
    ]
    return dept_rows, people_rows, pages
