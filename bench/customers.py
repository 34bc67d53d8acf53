"""The customers benchmark (issue 3): search, the 360 page, the filtered list, create.

Three actors, because the visibility predicate differs: admin (scope all), zhang.wei (a
华东 sales rep, scope own: his customers, his collaborations, the pool) and li.na (the 华东
manager, scope subtree: her department's customers and her ~340 reports'). The synthetic
reps of the `users` group are spread over the three sales departments with the
departments' managers as their managers, so each manager has a few hundred reports.
"""

from __future__ import annotations

import itertools
import os
import secrets
from typing import Any

from bench.harness import Context, Measurement, Size, group, prepares, scenario

REP = "zhang.wei"
MANAGER = "li.na"
LIST_FILTERS: dict[str, Any] = {"level": "A", "province": "浙江"}
HX = {"HX-Request": "true", "HX-Target": "global-search-results"}
TARGET = 50  # ms, p95 at 1,000,000 customers on SQLite (issue 3)


NOTES = """
Three actors, because the visibility predicate differs: `admin` (scope all), `li.na`
(the 华东 manager: scope subtree, ~340 reports) and `zhang.wei` (a 华东 rep: scope own — his
customers, the ones he collaborates on, and the pool). The queries typed are taken from
customer #1: a four-character fragment of its name (brand + trade, e.g. 鑫盛电子), its pinyin
initials and the last four digits of its primary contact's mobile. The target column is the
issue's: p95 ≤ 50 ms at 1,000,000 customers on SQLite. `test_query_counts.py` asserts that
the list, the 360 page and the search API run the same number of queries with few rows and
with many.

Seeding writes rows with multi-row INSERTs (no service calls, no audit entries), computes
the search tokens with `crm.search.keys` (pinyin once per distinct word; a sample is checked
against the registered SearchDoc), loads with journal_mode=OFF, synchronous=OFF, the bulk
tables' indexes and the FTS5 triggers dropped, then recreates them, rebuilds the full-text
index and returns to WAL. The database is not ANALYZEd: like a CRM database that grew
through the application, SQLite plans without statistics, so the query shapes must be good
without them.

What the benchmark found, and what changed:

* **The plain index on `deleted_at`.** Every soft-deleted model indexes `deleted_at`; SQLite
  then serves `deleted_at IS NULL` (every live row) from that index, in id order, and prefers
  it to a selective index whenever the query orders by id. The primary contacts of one list
  page took 0.35–0.55 s at 100,000 customers (a walk over all contacts). Customers and
  contacts now have a partial index on the deleted rows only (`customers` migration 0002).
  Other soft-deleted models still have the plain index (see `crm.core.models.SoftDeleteModel`).
* **The rep's list.** `visible()` gives a rep "owner is me OR I collaborate OR pool"; no index
  serves that OR, and with `ORDER BY id DESC LIMIT 51` SQLite walked the table in id order to
  find his few hundred customers (65 ms at 100,000, linear in the table). The list now asks
  for `id IN (branch UNION ALL branch)` over the branches of visible()'s own predicate
  (`crm.access.visibility.visible_branches`, `crm.customers.selectors.customers_visible_owned`),
  leaving out the pool branch the list excludes anyway; tests compare it with visible().
  Managers and "all" keep the plain predicate: they see a large share, so the walk stops early.
* **Owner index.** `(owner, id)` became `(owner, deleted_at, id)` (`customers` migration
  0003): a rep's customers in id order and the home page's pool count (50,000 rows here)
  come from the index alone; the count was 60–90 ms at 1,000,000 customers with one table
  lookup per row, and counts ids now (visible() may add DISTINCT over whole rows).
* **Search.** A hit was built (object with owner, field security, URL) for each of up to 400
  index candidates before 20 were kept: 45 ms for a common word. Candidates are now ranked
  from the index text, visibility is checked on ids only, and only the shown hits are built.
* **One-letter prefixes.** The first keystroke ("z") asked FTS5 for every term starting with
  z: 250 ms at 1,000,000 customers. The full-text index has a one-character prefix index now
  (`search` migration 0003; the index grows by about 15%).

Still open (outside the files of this benchmark, reported to the lead): the customer list
*page* misses the target because of its forms, not its data. The owner filter has one
`<option>` per active user (1,013 here), rendered through Django's per-option widget
templates, and for administrators the bulk form's owner list repeats them: 100 KB of the
admin's 200 KB page and most of its time. Measured on the same data, with only the actor in
those two lists the page takes about 47 ms (admin) and 36 ms (rep) instead of 217 and 94
(medians); rendering the same options without per-option templates gives 109 and 60. The
list API, which has no form, meets the target. The search proposes the 400 newest index
matches, so for a very common word a rep may see pool customers rather than his own older
ones.
"""


@group(
    "customers",
    sizes={
        "customers": Size("BENCH_CUSTOMERS", 100_000, "customers"),
        "contacts": Size("BENCH_CONTACTS", 2, "contacts per customer"),
    },
    needs=("users",),
    notes=NOTES,
)
def seed_customers(ctx: Context, sizes: dict[str, int]) -> str:
    from bench.seed_customers import check_tokens, seed

    result = seed(customers=sizes["customers"], contacts_per_customer=sizes["contacts"])
    checked, differing = check_tokens(sorted({s[0] for s in result.samples})[:100])
    s = result.seconds
    rate = result.customers / s["total"] if s["total"] else 0
    parts = [
        f"{result.customers:,} customers ({result.pooled:,} of them in the pool)",
        f"{result.contacts:,} contacts",
        f"{result.events:,} timeline events",
        f"{result.entries:,} search entries",
        f"customer #{result.showcase_id} has 20 contacts and 200 events",
        "the searches type {q_name}, {q_initials} and {q_phone}".format(**_queries()),
        f"seeded in {s['total']:.0f} s ({rate:,.0f} customers/s: rows {s['generate']:.0f} s, "
        f"insert {s['insert']:.0f} s, indexes {s.get('indexes', 0):.0f} s, "
        f"full-text index {s.get('fts', 0):.0f} s)",
    ]
    try:
        load = os.getloadavg()[1]
        parts.append(f"load average {load:.1f} (5 min) when the seed ended")
    except OSError:
        pass
    if differing:
        parts.append(f"{differing} of {checked} sampled search entries differ from SearchDoc")
    return "; ".join(parts)


def _queries() -> dict[str, Any]:
    """The queries the scenarios type, taken from the showcase customer (#1)."""
    from crm.customers.models import Contact, Customer
    from crm.search.keys import pinyin_syllables

    showcase = Customer.objects.get(pk=1)
    # brand + the first two characters of the trade: "鑫盛电子" in 杭州鑫盛电子科技有限公司
    start = len(showcase.city) if showcase.name.startswith(showcase.city) else 0
    fragment = showcase.name[start : start + 4]
    initials = "".join(s[0] for s in pinyin_syllables(fragment))
    mobile = (
        Contact.objects.filter(customer_id=showcase.pk, is_primary=True).values_list(
            "mobile", flat=True
        )
    )[0]
    return {
        "showcase": showcase.pk,
        "q_name": fragment,
        "q_initials": initials,
        "q_phone": mobile[-4:],
    }


@prepares("customers")
def prepare_customers(ctx: Context) -> None:
    ctx.data.update(_queries(), create_seq=itertools.count())


def _api_token(ctx: Context, username: str) -> dict[str, str]:
    if username == "admin":
        return ctx.bearer(ctx.data["admin_token"])
    return ctx.token(username)


# ---------------------------------------------------------------- global search


def _api_search(ctx: Context, q: str, username: str = "admin") -> Measurement:
    return ctx.get("/api/v1/search", client=ctx.anon, headers=_api_token(ctx, username), q=q)


@scenario(
    "customers",
    "search API: name fragment (admin)",
    note="e.g. 鑫盛电子: 3 bigrams",
    target_ms=TARGET,
)
def search_api_name(ctx: Context) -> Measurement:
    return _api_search(ctx, ctx.data["q_name"])


@scenario(
    "customers",
    "search API: pinyin initials (admin)",
    note="e.g. xsdz, prefix match",
    target_ms=TARGET,
)
def search_api_initials(ctx: Context) -> Measurement:
    return _api_search(ctx, ctx.data["q_initials"])


@scenario(
    "customers",
    "search API: phone suffix (admin)",
    note="last 4 digits of a mobile",
    target_ms=TARGET,
)
def search_api_phone(ctx: Context) -> Measurement:
    return _api_search(ctx, ctx.data["q_phone"])


@scenario(
    "customers",
    "search API: 科技 (admin)",
    note="a fragment in a quarter of all names",
    target_ms=TARGET,
)
def search_api_common(ctx: Context) -> Measurement:
    return _api_search(ctx, "科技")


@scenario("customers", "search API: name fragment (rep)", note="scope own", target_ms=TARGET)
def search_api_name_rep(ctx: Context) -> Measurement:
    return _api_search(ctx, ctx.data["q_name"], REP)


@scenario("customers", "search API: pinyin initials (rep)", note="scope own", target_ms=TARGET)
def search_api_initials_rep(ctx: Context) -> Measurement:
    return _api_search(ctx, ctx.data["q_initials"], REP)


@scenario(
    "customers",
    "GET /search/?q= name fragment (page, admin)",
    note="full HTML page",
    target_ms=TARGET,
)
def search_page_name(ctx: Context) -> Measurement:
    return ctx.get("/search/", q=ctx.data["q_name"])


@scenario(
    "customers",
    "GET /search/?q= pinyin initials (dropdown, rep)",
    note="htmx partial",
    target_ms=TARGET,
)
def search_dropdown_initials(ctx: Context) -> Measurement:
    return ctx.get("/search/", client=ctx.client_as(REP), headers=HX, q=ctx.data["q_initials"])


@scenario(
    "customers",
    "GET /search/?q= phone suffix (dropdown, rep)",
    note="htmx partial",
    target_ms=TARGET,
)
def search_dropdown_phone(ctx: Context) -> Measurement:
    return ctx.get("/search/", client=ctx.client_as(REP), headers=HX, q=ctx.data["q_phone"])


# ---------------------------------------------------------------- the 360 page


@scenario(
    "customers",
    "GET /customers/<id>/ 360 (admin)",
    note="20 contacts, 200 events",
    target_ms=TARGET,
)
def customer_360_admin(ctx: Context) -> Measurement:
    return ctx.get(f"/customers/{ctx.data['showcase']}/")


@scenario(
    "customers",
    "GET /customers/<id>/ 360 (rep, owner)",
    note="20 contacts, 200 events",
    target_ms=TARGET,
)
def customer_360_rep(ctx: Context) -> Measurement:
    return ctx.get(f"/customers/{ctx.data['showcase']}/", client=ctx.client_as(REP))


@scenario(
    "customers", "GET /api/v1/customers/<id> (rep, owner)", note="detail endpoint", target_ms=TARGET
)
def customer_api_detail(ctx: Context) -> Measurement:
    return ctx.get(
        f"/api/v1/customers/{ctx.data['showcase']}", client=ctx.anon, headers=ctx.token(REP)
    )


# ---------------------------------------------------------------- the list, two filters


def _list_page(ctx: Context, username: str) -> Measurement:
    return ctx.get("/customers/", client=ctx.client_as(username), **LIST_FILTERS)


def _list_api(ctx: Context, username: str) -> Measurement:
    return ctx.get(
        "/api/v1/customers", client=ctx.anon, headers=_api_token(ctx, username), **LIST_FILTERS
    )


@scenario(
    "customers", "GET /customers/?level=A&province=浙江 (admin)", note="scope all", target_ms=TARGET
)
def list_page_admin(ctx: Context) -> Measurement:
    return _list_page(ctx, "admin")


@scenario(
    "customers",
    "GET /customers/?level=A&province=浙江 (manager)",
    note="scope subtree",
    target_ms=TARGET,
)
def list_page_manager(ctx: Context) -> Measurement:
    return _list_page(ctx, MANAGER)


@scenario(
    "customers", "GET /customers/?level=A&province=浙江 (rep)", note="scope own", target_ms=TARGET
)
def list_page_rep(ctx: Context) -> Measurement:
    return _list_page(ctx, REP)


@scenario(
    "customers",
    "GET /api/v1/customers?level=A&province=浙江 (admin)",
    note="scope all",
    target_ms=TARGET,
)
def list_api_admin(ctx: Context) -> Measurement:
    return _list_api(ctx, "admin")


@scenario(
    "customers",
    "GET /api/v1/customers?level=A&province=浙江 (manager)",
    note="scope subtree",
    target_ms=TARGET,
)
def list_api_manager(ctx: Context) -> Measurement:
    return _list_api(ctx, MANAGER)


@scenario(
    "customers",
    "GET /api/v1/customers?level=A&province=浙江 (rep)",
    note="scope own",
    target_ms=TARGET,
)
def list_api_rep(ctx: Context) -> Measurement:
    return _list_api(ctx, REP)


@scenario(
    "customers", "GET /customers/ (no filter, rep)", note="first page, scope own", target_ms=TARGET
)
def list_page_rep_plain(ctx: Context) -> Measurement:
    return ctx.get("/customers/", client=ctx.client_as(REP))


# ---------------------------------------------------------------- create with duplicate check


def _new_customer(ctx: Context) -> dict[str, Any]:
    n = next(ctx.data["create_seq"])
    tag = secrets.token_hex(4)
    return {
        "name": f"基准新建{tag}{n}智能科技有限公司",
        "province": "浙江",
        "city": "杭州",
        "level": "B",
        "industry": "装备制造",
        "contact": {
            "name": "测试联系人",
            "mobile": f"199{secrets.randbelow(10**8):08d}",
            "email": f"bench{tag}{n}@example.com",
        },
    }


@scenario(
    "customers",
    "customer_create() with duplicate check (rep)",
    note="service call: 查重 by name, phone, email; audit, timeline, search index",
    target_ms=TARGET,
)
def create_service(ctx: Context) -> Measurement:
    from crm.access.models import User
    from crm.customers.services import customer_create

    actor = User.objects.get(username=REP)

    def create() -> None:
        new = _new_customer(ctx)
        contact = new.pop("contact")
        customer_create(actor=actor, data=new, contacts=[contact])

    return ctx.call(create)


@scenario(
    "customers", "POST /api/v1/customers (rep)", note="the same through the API", target_ms=TARGET
)
def create_api(ctx: Context) -> Measurement:
    headers = ctx.token(REP)

    def post() -> Any:
        new = _new_customer(ctx)
        new["contacts"] = [new.pop("contact")]
        return ctx.anon.post(
            "/api/v1/customers", new, content_type="application/json", headers=headers
        )

    return ctx.measure(post, expect=201)
