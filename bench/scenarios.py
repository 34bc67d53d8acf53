"""The benchmark scenarios, by group. Add a group with a seed step, then its scenarios.

Sizes come from environment variables (BENCH_USERS=…); a group is seeded once per database
and reused while its sizes stay the same (see bench/runner.py). A later domain adds e.g.:

    @group("customers", sizes={"customers": Size("BENCH_CUSTOMERS", 100_000, "customers")},
           needs=("users",))
    def seed_customers(ctx, sizes): ...            # bulk_create, return a one-line summary

    @scenario("customers", "GET /customers/ (first page, sales rep)")
    def customer_list_rep(ctx):
        return ctx.get("/customers/", client=ctx.client_as("zhang.wei"))
"""

from __future__ import annotations

from bench.harness import Context, Measurement, Size, group, prepares, scenario

BENCH_USER_PREFIX = "bench.u"
BENCH_TOKEN_NAME = "bench"  # noqa: S105  (the token's label, not a secret)


# ---------------------------------------------------------------- org: the demo organisation


@group("org")
def seed_org(ctx: Context, sizes: dict[str, int]) -> str:
    from crm.demo import DEPARTMENTS, USERS, demo_organisation

    demo_organisation()  # idempotent: the demo departments, roles and 13 users
    return f"demo organisation: {len(DEPARTMENTS)} departments, {len(USERS)} users"


@prepares("org")
def prepare_org(ctx: Context) -> None:
    """A fresh API token for admin on every run; the previous run's token is revoked."""
    from crm.access.models import ApiToken, User
    from crm.access.services import token_create, token_revoke

    admin = User.objects.get(username="admin")
    for old in ApiToken.objects.filter(user=admin, name=BENCH_TOKEN_NAME, revoked_at=None):
        token_revoke(actor=admin, token_id=old.pk)
    _token, value = token_create(actor=admin, name=BENCH_TOKEN_NAME)
    ctx.data["admin_token"] = value


@scenario("org", "GET /healthz", note="anonymous; one SELECT 1")
def healthz(ctx: Context) -> Measurement:
    return ctx.get("/healthz", client=ctx.anon)


@scenario("org", "GET / (home, admin)", note="session login, full HTML page")
def home_admin(ctx: Context) -> Measurement:
    return ctx.get("/")


@scenario("org", "GET /api/v1/me (Bearer token)", note="token lookup, user and roles")
def api_me(ctx: Context) -> Measurement:
    return ctx.get("/api/v1/me", client=ctx.anon, headers=ctx.bearer(ctx.data["admin_token"]))


# ---------------------------------------------------------------- users: many synthetic users


@group(
    "users",
    sizes={"users": Size("BENCH_USERS", 1_000, "synthetic users")},
    needs=("org",),
)
def seed_users(ctx: Context, sizes: dict[str, int]) -> str:
    """Synthetic sales reps spread over the three sales departments, inserted in bulk.

    bulk_create on purpose: going through user_create would hash each password with Argon2
    and write an audit entry per user, turning seconds into minutes for no benchmark value.
    """
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from faker import Faker

    from crm.access.models import Department, Role, User

    count = sizes["users"]
    fake = Faker("zh_CN")
    fake.seed_instance(2026)
    password = make_password(settings.DEMO_PASSWORD)  # hashed once, shared by all
    departments = list(
        Department.objects.filter(name__in=["华东销售部", "华南销售部", "华北销售部"]).order_by(
            "pk"
        )
    )
    rep = Role.objects.get(code="sales_rep")
    with transaction.atomic():
        User.objects.filter(username__startswith=BENCH_USER_PREFIX).delete()
        users = []
        for i in range(count):
            dept = departments[i % len(departments)]
            users.append(
                User(
                    username=f"{BENCH_USER_PREFIX}{i:07d}",
                    display_name=fake.name(),
                    email=f"{BENCH_USER_PREFIX}{i:07d}@bench.crm.local",
                    mobile=f"13{i:09d}",
                    department=dept,
                    manager_id=dept.manager_id,
                    password=password,
                )
            )
        User.objects.bulk_create(users, batch_size=500)
        ids = User.objects.filter(username__startswith=BENCH_USER_PREFIX).values_list(
            "pk", flat=True
        )
        through = User.roles.through
        through.objects.bulk_create(
            [through(user_id=pk, role_id=rep.pk) for pk in ids], batch_size=500
        )
    return f"{count:,} synthetic users (sales reps in 3 departments)"


@scenario("users", "GET /api/v1/users (first page, admin)", note="50 per page, keyset")
def api_users_first_page(ctx: Context) -> Measurement:
    return ctx.get("/api/v1/users", client=ctx.anon, headers=ctx.bearer(ctx.data["admin_token"]))


@scenario("users", "GET /org/ (组织架构, first page, li.na)", note="100 members per page")
def org_page_manager(ctx: Context) -> Measurement:
    return ctx.get("/org/", client=ctx.client_as("li.na"))


@scenario("users", "GET /org/?q= (search members, admin)", note="substring on name/username")
def org_page_search(ctx: Context) -> Measurement:
    return ctx.get("/org/", q="bench.u00009")


# ---------------------------------------------------------------- customers (bench/customers.py)

from bench import customers as _customers  # noqa: E402, F401  (registers the group)
from bench import imports as _imports  # noqa: E402, F401  (registers the group)
from bench import sales as _sales  # noqa: E402, F401  (registers the group)
