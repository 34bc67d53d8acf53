"""Seeding a synthetic customer base fast: customers, contacts, timeline events, tags,
collaborators and their search entries, written with multi-row INSERTs.

Going through customer_create would take hours at a million customers (audit chain,
duplicate check, completeness, one search entry at a time); what the benchmark measures is
reading that data and one create on top of it. So rows are generated here and inserted with
`executemany`, and their search tokens are computed with crm.search.keys — the pinyin once
per distinct word (city, brand, trade, legal form, family name, given name), not per row.
A sample is checked against the registered SearchDoc, so the index holds what the CRM
itself would have written.

On SQLite the load runs with journal_mode=OFF and synchronous=OFF, a large page cache,
the FTS5 triggers dropped (the full-text index is rebuilt in one pass at the end) and the
bulk tables' secondary indexes dropped and recreated afterwards; the database is put back
into WAL mode and the migration's triggers and indexes are restored before anything is
measured. A seed interrupted half way is cleaned up by the next run (`ddl_restore`).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from bench import vocab

CHUNK = 20_000
SHOWCASE_CONTACTS = 20
SHOWCASE_EVENTS = 200
POOL_SHARE = 0.05
COLLABORATION_SHARE = 0.005
DDL_TABLE = "bench_ddl"
SEED = 2026

# Tables loaded in bulk: their secondary indexes are dropped during the load (SQLite).
BULK_TABLES = (
    "customers_customer",
    "customers_contact",
    "timeline_timelineevent",
    "search_searchentry",
    "customers_customertag",
)


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- pinyin, once per word


@cache
def _syllables(word: str) -> tuple[str, ...]:
    from crm.search.keys import pinyin_syllables

    return tuple(pinyin_syllables(word))


def name_tokens(parts: tuple[str, ...]) -> list[str]:
    """crm.search.keys.text_tokens of "".join(parts) (all CJK), with the pinyin per part."""
    from crm.search.keys import pinyin_tokens

    run = "".join(parts)
    syllables: list[str] = []
    for part in parts:
        syllables.extend(_syllables(part))
    tokens = list(run)
    tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    tokens.extend(pinyin_tokens(syllables))
    return tokens


def mobile_tokens(national: str) -> list[str]:
    """keys.phone_tokens of +86<national> without parsing the number again."""
    return [national, *("p" + national[-n:] for n in range(4, len(national) + 1))]


def doc_tokens(*token_lists: list[str]) -> str:
    """SearchDoc.tokens(): every token once, in order."""
    seen: dict[str, None] = {}
    for tokens in token_lists:
        for t in tokens:
            if t and t not in seen:
                seen[t] = None
    return " ".join(seen)


# ---------------------------------------------------------------- the generator


def _weighted(pairs: list[tuple[Any, int]]) -> tuple[list[Any], list[int]]:
    values = [p[0] for p in pairs]
    cum: list[int] = []
    total = 0
    for _v, w in pairs:
        total += w
        cum.append(total)
    return values, cum


@dataclass
class Generated:
    """One chunk of rows, as tuples in the column order of the INSERTs below."""

    customers: list[tuple[Any, ...]] = field(default_factory=list)
    contacts: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    tags: list[tuple[Any, ...]] = field(default_factory=list)
    collaborators: list[tuple[Any, ...]] = field(default_factory=list)
    # (customer id, contact parts, national mobile) of what the scenarios look for.
    samples: list[tuple[int, tuple[str, ...], str]] = field(default_factory=list)


CUSTOMER_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "name",
    "name_key",
    "credit_code",
    "industry",
    "level",
    "source",
    "province",
    "city",
    "address",
    "website",
    "notes",
    "owner_id",
    "owned_since",
    "pool_entered_at",
    "pool_reason",
    "status",
    "custom",
    "next_follow_up_at",
    "last_follow_up_at",
    "last_won_at",
    "completeness",
    "created_by_id",
    "deleted_by_id",
]
CONTACT_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "customer_id",
    "name",
    "title",
    "mobile",
    "mobile_raw",
    "phone",
    "phone_raw",
    "email",
    "wechat",
    "birthday",
    "role",
    "is_primary",
    "notes",
    "custom",
    "deleted_by_id",
]
EVENT_COLUMNS = [
    "customer_id",
    "contact_id",
    "kind",
    "at",
    "actor_id",
    "summary",
    "data",
    "ref_entity",
    "ref_id",
]
ENTRY_COLUMNS = ["entity", "object_id", "title", "subtitle", "tokens"]
TAG_COLUMNS = ["customer_id", "tag_id"]
COLLABORATOR_COLUMNS = ["customer_id", "user_id", "added_by_id", "created_at"]


class Generator:
    """Deterministic synthetic rows (the same sizes give the same data)."""

    def __init__(
        self,
        *,
        owners: list[int],
        showcase_owner: int,
        collaborator: int,
        admin: int,
        tag_ids: list[int],
        contacts_per_customer: int,
        now: dt.datetime,
    ) -> None:
        from django.db import connection

        from crm.customers.normalize import company_name_key, credit_code_check_char

        self.rng = random.Random(SEED)
        self.owners = owners
        self.showcase_owner = showcase_owner
        self.collaborator = collaborator
        self.admin = admin
        self.tag_ids = tag_ids
        self.per_customer = contacts_per_customer
        self.now = now
        self.adapt = connection.ops.adapt_datetimefield_value
        self.name_key = company_name_key
        self.check_char = credit_code_check_char
        self.provinces, self.province_cum = _weighted([(p, w) for p, w, _c in vocab.PROVINCES])
        self.cities = {p: c for p, _w, c in vocab.PROVINCES}
        self.levels, self.level_cum = _weighted(vocab.LEVELS)
        self.statuses, self.status_cum = _weighted(vocab.STATUSES)
        self.forms, self.form_cum = _weighted(vocab.LEGAL_FORMS)
        self.brands = [a + b for a in vocab.BRAND_CHARS for b in vocab.BRAND_CHARS if a != b]
        self.family = list(vocab.FAMILY_NAMES) + list(vocab.COMPOUND_FAMILY_NAMES)
        self.given = list(vocab.GIVEN_CHARS)
        self.next_contact = 1
        self.pooled = 0
        self.mobile_seq = 0

    # -- helpers
    def pick(self, values: list[Any], cum: list[int]) -> Any:
        return self.rng.choices(values, cum_weights=cum)[0]

    def when(self, days_ago: float) -> str:
        return str(self.adapt(self.now - dt.timedelta(days=days_ago)))

    def mobile(self) -> str:
        """A unique national mobile number: prefix + an 8-digit bijection of a counter."""
        i = self.mobile_seq
        self.mobile_seq += 1
        prefixes = vocab.MOBILE_PREFIXES
        prefix = prefixes[i % len(prefixes)]
        return f"{prefix}{(i // len(prefixes) * 7_919 + 12_345) % 10**8:08d}"

    @cache  # noqa: B019  (a handful of area codes, one generator per seed)
    def local_digits(self, area: str) -> int:
        """8-digit local numbers where the area has them, else 7 (phonenumbers decides)."""
        import phonenumbers

        number = phonenumbers.parse(f"+86{area}62345678")
        return 8 if phonenumbers.is_valid_number(number) else 7

    def company(self) -> tuple[tuple[str, ...], str, str, str]:
        province = self.pick(self.provinces, self.province_cum)
        city = self.rng.choice(self.cities[province])
        trade, industry = self.rng.choice(vocab.TRADES)
        form = self.pick(self.forms, self.form_cum)
        parts = (city, self.rng.choice(self.brands), trade, form)
        return parts, province, city, industry

    def person(self) -> tuple[str, ...]:
        given = "".join(self.rng.choice(self.given) for _ in range(self.rng.choice((1, 2, 2))))
        return (self.rng.choice(self.family), given)

    # -- rows
    def chunk(self, first_id: int, count: int, *, showcase: bool = False) -> Generated:
        out = Generated()
        rng = self.rng
        for cid in range(first_id, first_id + count):
            is_showcase = showcase and cid == first_id
            parts, province, city, industry = self.company()
            name = "".join(parts)
            age = (1 - (cid - first_id) / max(count, 1)) * 2 + rng.random()  # older ids older
            created_days = 30 + age * 365
            in_pool = not is_showcase and rng.random() < POOL_SHARE
            self.pooled += in_pool
            owner = (
                self.showcase_owner if is_showcase else None if in_pool else rng.choice(self.owners)
            )
            has_code = rng.random() < 0.7
            code = ""
            if has_code:
                first17 = f"91{rng.randrange(110000, 660000):06d}{cid:09d}"
                code = first17 + self.check_char(first17)
            level = self.pick(self.levels, self.level_cum)
            status = self.pick(self.statuses, self.status_cum)
            address = f"{city}{rng.choice(vocab.STREETS)}{rng.randrange(1, 999)}号"
            if rng.random() < 0.2:
                address = ""
            filled = sum(bool(v) for v in (code, industry, level, province, city, address))
            completeness = round((filled + 2) * 100 / 8)  # + a contact with a mobile
            last_fu = rng.random() * 60 if rng.random() < 0.7 else None
            next_fu = rng.random() * 40 - 10 if rng.random() < 0.4 else None
            created_at = self.when(created_days)
            out.customers.append(
                (
                    cid,
                    created_at,
                    self.when(min(created_days, rng.random() * 90)),
                    1,
                    None,
                    name,
                    self.name_key(name),
                    code,
                    industry,
                    level,
                    rng.choice(vocab.SOURCES),
                    province,
                    city,
                    address,
                    "",
                    "",
                    owner,
                    None if owner is None else created_at,
                    self.when(rng.random() * 20) if owner is None else None,
                    "超过 30 天未跟进" if owner is None else "",
                    status,
                    "{}",
                    None if next_fu is None else self.adapt(self.now + dt.timedelta(days=next_fu)),
                    None if last_fu is None else self.when(last_fu),
                    self.when(rng.random() * 300) if status == "won" else None,
                    completeness,
                    owner or self.admin,
                    None,
                )
            )
            where = f"{province} {city}" if province != city else province
            out.entries.append(
                (
                    "customer",
                    cid,
                    name,
                    f"{where} · {industry}",
                    doc_tokens(name_tokens(parts), [code.lower()] if code else []),
                )
            )
            out.events.append(
                (cid, None, "created", created_at, owner or self.admin, "创建了客户", "{}", "", "")
            )
            n_contacts = SHOWCASE_CONTACTS if is_showcase else self.per_customer
            for k in range(n_contacts):
                self._contact(out, cid, name, city, created_at, primary=k == 0)
            if self.tag_ids and rng.random() < 0.3:
                for tag in rng.sample(self.tag_ids, rng.choice((1, 1, 2))):
                    out.tags.append((cid, tag))
            if owner is not None and rng.random() < COLLABORATION_SHARE:
                user = rng.choice(self.owners)
                if user != owner:
                    out.collaborators.append((cid, user, owner, created_at))
            if is_showcase:
                self._showcase_events(out, cid, owner)
        return out

    def _contact(
        self, out: Generated, cid: int, company: str, city: str, created_at: str, *, primary: bool
    ) -> None:
        from crm.search.keys import email_tokens

        rng = self.rng
        pk = self.next_contact
        self.next_contact += 1
        parts = self.person()
        name = "".join(parts)
        mobile = self.mobile()
        phone = ""
        phone_tokens: list[str] = []
        if rng.random() < 0.3:
            area = vocab.AREA_CODES.get(city, "21")
            digits = self.local_digits(area)
            local = f"6{rng.randrange(0, 10 ** (digits - 1)):0{digits - 1}d}"
            phone = f"+86{area}{local}"
            national = f"0{area}{local}"
            phone_tokens = [national, *("p" + national[-n:] for n in range(4, len(national) + 1))]
        email = ""
        if rng.random() < 0.4:
            local_part = "".join(_syllables(parts[0]) + _syllables(parts[1]))
            email = f"{local_part}{rng.randrange(1, 999)}@{rng.choice(vocab.EMAIL_DOMAINS)}"
        title = rng.choice(vocab.TITLES)
        role = rng.choice(vocab.CONTACT_ROLES)
        e164 = f"+86{mobile}"
        out.contacts.append(
            (
                pk,
                created_at,
                created_at,
                1,
                None,
                cid,
                name,
                title,
                e164,
                f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}",
                phone,
                phone,
                email,
                "",
                None,
                role,
                primary,
                "",
                "{}",
                None,
            )
        )
        out.entries.append(
            (
                "contact",
                pk,
                name,
                f"{company} · {title}",
                doc_tokens(
                    name_tokens(parts),
                    mobile_tokens(mobile),
                    phone_tokens,
                    email_tokens(email) if email else [],
                ),
            )
        )
        if len(out.samples) < 50:
            out.samples.append((cid, parts, mobile))

    def _showcase_events(self, out: Generated, cid: int, owner: int | None) -> None:
        """200 events of the usual kinds, spread over the last year, for the 360 page."""
        rng = self.rng
        kinds = ("updated", "tagged", "contact_added", "contact_updated", "owner_changed")
        first_contact = self.next_contact - SHOWCASE_CONTACTS
        for i in range(SHOWCASE_EVENTS):
            kind = kinds[i % len(kinds)]
            at = self.when(i * 1.7 + rng.random())
            contact_id = None
            data: dict[str, Any] = {}
            summary = "修改了客户"
            ref_entity = ref_id = ""
            if kind == "updated":
                data = {"changes": {"level": ["B", "A"], "city": ["宁波", "杭州"]}}
            elif kind == "tagged":
                summary = "添加了标签"
                data = {"added": ["重点客户"]}
            elif kind in ("contact_added", "contact_updated"):
                contact_id = first_contact + i % SHOWCASE_CONTACTS
                summary = "新增联系人" if kind == "contact_added" else "修改了联系人"
                data = {"changes": {"mobile": ["+8613800000000", "+8613900000000"]}}
                ref_entity, ref_id = "contact", str(contact_id)
            else:
                summary = "负责人变更"
                data = {"changes": {"owner": ["吴磊", "张伟"]}}
            out.events.append(
                (cid, contact_id, kind, at, owner, summary, json.dumps(data), ref_entity, ref_id)
            )


# ---------------------------------------------------------------- loading


def _insert(cursor: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    cursor.executemany(sql, rows)


def _sqlite() -> bool:
    from django.db import connection

    return connection.vendor == "sqlite"


def ddl_restore() -> int:
    """Recreate triggers and indexes a previous, interrupted seed dropped (SQLite)."""
    from django.db import connection

    if not _sqlite():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {DDL_TABLE} (name TEXT PRIMARY KEY, sql TEXT)")
        cursor.execute(f"SELECT name, sql FROM {DDL_TABLE}")  # noqa: S608
        rows = cursor.fetchall()
        for name, sql in rows:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql)
            cursor.execute(f"DELETE FROM {DDL_TABLE} WHERE name = %s", [name])  # noqa: S608
    return len(rows)


def _ddl_drop(cursor: Any) -> list[tuple[str, str, str]]:
    """Drop the FTS triggers and the bulk tables' secondary indexes, remembering them."""
    marks = ", ".join(["%s"] * len(BULK_TABLES))
    cursor.execute(
        "SELECT type, name, sql FROM sqlite_master "  # noqa: S608
        f"WHERE tbl_name IN ({marks}) AND type IN ('index', 'trigger') AND sql IS NOT NULL",
        list(BULK_TABLES),
    )
    dropped = [(kind, name, sql) for kind, name, sql in cursor.fetchall()]
    for _kind, name, sql in dropped:
        cursor.execute(
            f"INSERT OR REPLACE INTO {DDL_TABLE} (name, sql) VALUES (%s, %s)",  # noqa: S608
            [name, sql],
        )
    for kind, name, _sql in dropped:
        cursor.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')
    return dropped


def _clear(cursor: Any) -> None:
    """Remove earlier bench customers (a changed size, or a seed that was interrupted)."""
    for table in (
        "timeline_timelineevent",
        "customers_customertag",
        "customers_customercollaborator",
        "customers_collaborationrequest",
        "customers_contact",
        "customers_customer",
    ):
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608
    cursor.execute("DELETE FROM search_searchentry WHERE entity IN ('customer', 'contact')")


@dataclass
class SeedResult:
    customers: int
    contacts: int
    events: int
    entries: int
    pooled: int
    showcase_id: int
    samples: list[tuple[int, tuple[str, ...], str]]
    seconds: dict[str, float]


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    start = 1
    while start <= total:
        n = min(size, total - start + 1)
        yield start, n
        start += n


def seed(*, customers: int, contacts_per_customer: int) -> SeedResult:
    from django.db import connection, transaction

    from crm.access.models import Role, User
    from crm.customers.models import Customer, Tag
    from crm.customers.services import tag_create

    timings: dict[str, float] = {}
    started = time.perf_counter()
    admin = User.objects.get(username="admin")
    rep = User.objects.get(username="zhang.wei")
    colleague = User.objects.get(username="wu.lei")
    sales_roles = Role.objects.filter(code__in=["sales_rep", "sales_manager"])
    owners = sorted(
        User.objects.filter(roles__in=sales_roles, is_active=True)
        .values_list("pk", flat=True)
        .distinct()
    )
    tags = []
    for path in (
        "行业/制造业",
        "行业/制造业/汽车零部件",
        "行业/信息技术",
        "行业/医疗",
        "重点客户",
        "战略客户",
        "渠道/代理商",
        "渠道/直销",
        "展会线索/2025 工博会",
    ):
        tags.append(
            Tag.objects.filter(full_name=path).first() or tag_create(actor=admin, name=path)
        )
    generator = Generator(
        owners=owners,
        showcase_owner=rep.pk,
        collaborator=colleague.pk,
        admin=admin.pk,
        tag_ids=[t.pk for t in tags],
        contacts_per_customer=contacts_per_customer,
        now=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )
    sqlite = _sqlite()
    dropped: list[tuple[str, str, str]] = []
    with connection.cursor() as cursor:
        if sqlite:
            ddl_restore()
            for pragma in (
                "journal_mode=OFF",
                "synchronous=OFF",
                "foreign_keys=OFF",
                "cache_size=-1000000",  # 1 GB while loading
                "temp_store=MEMORY",
            ):
                cursor.execute(f"PRAGMA {pragma}")
        try:
            with transaction.atomic():
                if sqlite:
                    dropped = _ddl_drop(cursor)
                _clear(cursor)
            timings["prepare"] = time.perf_counter() - started
            totals = {"customers": 0, "contacts": 0, "events": 0, "entries": 0}
            samples: list[tuple[int, tuple[str, ...], str]] = []
            load_started = time.perf_counter()
            gen_seconds = 0.0
            for first, count in _chunks(customers, CHUNK):
                t0 = time.perf_counter()
                rows = generator.chunk(first, count, showcase=first == 1)
                gen_seconds += time.perf_counter() - t0
                with transaction.atomic():
                    _insert(cursor, "customers_customer", CUSTOMER_COLUMNS, rows.customers)
                    _insert(cursor, "customers_contact", CONTACT_COLUMNS, rows.contacts)
                    _insert(cursor, "timeline_timelineevent", EVENT_COLUMNS, rows.events)
                    _insert(cursor, "search_searchentry", ENTRY_COLUMNS, rows.entries)
                    _insert(cursor, "customers_customertag", TAG_COLUMNS, rows.tags)
                    _insert(
                        cursor,
                        "customers_customercollaborator",
                        COLLABORATOR_COLUMNS,
                        rows.collaborators,
                    )
                totals["customers"] += len(rows.customers)
                totals["contacts"] += len(rows.contacts)
                totals["events"] += len(rows.events)
                totals["entries"] += len(rows.entries)
                if len(samples) < 200:
                    samples.extend(rows.samples)
                done = first + count - 1
                if done % 100_000 == 0 or done == customers:
                    rate = done / (time.perf_counter() - load_started)
                    _say(f"    {done:,} customers ({rate:,.0f}/s)")
            timings["generate"] = gen_seconds
            timings["insert"] = time.perf_counter() - load_started - gen_seconds
            # The rep collaborates on a few customers of colleagues (the subquery is not empty).
            with transaction.atomic():
                picks = generator.rng.sample(range(2, customers + 1), min(20, customers - 1))
                _insert(
                    cursor,
                    "customers_customercollaborator",
                    COLLABORATOR_COLUMNS,
                    [(pk, rep.pk, admin.pk, generator.when(10)) for pk in picks],
                )
        finally:
            if sqlite:
                t0 = time.perf_counter()
                _ddl_recreate(cursor, dropped)
                timings["indexes"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                with transaction.atomic():
                    cursor.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
                timings["fts"] = time.perf_counter() - t0
                ddl_restore()
                for pragma in (
                    "cache_size=-64000",
                    "foreign_keys=ON",
                    "synchronous=NORMAL",
                    "journal_mode=WAL",
                ):
                    cursor.execute(f"PRAGMA {pragma}")
    if not sqlite:
        from django.core.management.color import no_style

        from crm.customers.models import Contact, CustomerCollaborator, CustomerTag
        from crm.search.models import SearchEntry
        from crm.timeline.models import TimelineEvent

        models = [Customer, Contact, TimelineEvent, SearchEntry, CustomerTag, CustomerCollaborator]
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)
            cursor.execute("ANALYZE")
    timings["total"] = time.perf_counter() - started
    return SeedResult(
        customers=totals["customers"],
        contacts=totals["contacts"],
        events=totals["events"],
        entries=totals["entries"],
        pooled=generator.pooled,
        showcase_id=1,
        samples=samples,
        seconds=timings,
    )


def _ddl_recreate(cursor: Any, dropped: list[tuple[str, str, str]]) -> None:
    """Indexes first (built by sorting, faster than growing them row by row), then triggers."""
    for kind in ("index", "trigger"):
        for k, _name, sql in dropped:
            if k == kind:
                cursor.execute(sql)


def check_tokens(sample_ids: list[int]) -> tuple[int, int]:
    """(checked, differing): seeded tokens against what the registered SearchDoc gives."""
    from crm.customers.models import Contact, Customer
    from crm.search.models import SearchEntry
    from crm.search.registry import searchable_get

    differing = checked = 0
    for entity, model, qs in (
        ("customer", Customer, Customer.objects.filter(pk__in=sample_ids)),
        (
            "contact",
            Contact,
            Contact.objects.filter(customer_id__in=sample_ids).select_related("customer"),
        ),
    ):
        searchable = searchable_get(entity)
        assert searchable is not None, model
        stored = dict(
            SearchEntry.objects.filter(entity=entity, object_id__in=[o.pk for o in qs]).values_list(
                "object_id", "tokens"
            )
        )
        for obj in qs:
            checked += 1
            if searchable.doc(obj).tokens() != stored.get(obj.pk):
                differing += 1
    return checked, differing
