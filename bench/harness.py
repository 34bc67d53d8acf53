"""Scenario groups, scenarios, and the context a scenario measures with.

A *group* owns a seed step and the data sizes it seeds (each size read from an environment
variable, e.g. BENCH_USERS). Seeding is idempotent: a group whose data already has the
asked-for size reuses it, so a second run starts measuring at once.

A *scenario* is a function `(ctx) -> Measurement`; it calls `ctx.get(...)` / `ctx.post(...)`,
which time the request N times and count its queries.
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------- registry


@dataclass(frozen=True)
class Size:
    """One data size of a group: how many rows, from which environment variable."""

    env: str
    default: int
    label: str

    def resolve(self) -> int:
        raw = os.environ.get(self.env, "")
        if not raw:
            return self.default
        try:
            value = int(raw.replace("_", ""))
        except ValueError as exc:
            raise SystemExit(f"{self.env} must be a whole number, got {raw!r}") from exc
        if value < 0:
            raise SystemExit(f"{self.env} must not be negative, got {value}")
        return value


SeedFn = Callable[["Context", dict[str, int]], str]
PrepareFn = Callable[["Context"], None]
ScenarioFn = Callable[["Context"], "Measurement"]


@dataclass
class Group:
    name: str
    seed: SeedFn
    sizes: dict[str, Size] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    # Runs on every run, seeded or reused (tokens, objects scenarios look up in ctx.data).
    prepare: PrepareFn | None = None
    # Markdown written under "Notes" in docs/benchmarks.md (what is measured and why).
    notes: str = ""

    def resolved_sizes(self) -> dict[str, int]:
        return {key: size.resolve() for key, size in self.sizes.items()}


@dataclass
class Scenario:
    name: str
    group: str
    fn: ScenarioFn
    note: str = ""
    # The p95 the scenario must stay under (ms), shown next to the figure; None: no target.
    target_ms: float | None = None


GROUPS: dict[str, Group] = {}
SCENARIOS: list[Scenario] = []


def group(
    name: str,
    *,
    sizes: dict[str, Size] | None = None,
    needs: tuple[str, ...] = (),
    notes: str = "",
) -> Callable[[SeedFn], SeedFn]:
    """Register a seed step: `@group("customers", sizes={"customers": Size(...)}, needs=("org",))`.

    The function gets the context and the resolved sizes, seeds idempotently and returns
    one line describing the data (printed and written into docs/benchmarks.md).
    """

    def register(fn: SeedFn) -> SeedFn:
        if name in GROUPS:
            raise ValueError(f"bench group {name!r} registered twice")
        for need in needs:
            if need not in GROUPS:
                raise ValueError(f"bench group {name!r} needs {need!r}, registered later or never")
        GROUPS[name] = Group(
            name=name, seed=fn, sizes=dict(sizes or {}), needs=needs, notes=notes.strip()
        )
        return fn

    return register


def prepares(group_name: str) -> Callable[[PrepareFn], PrepareFn]:
    """Register the per-run set-up of a group (after its data is seeded or reused)."""

    def register(fn: PrepareFn) -> PrepareFn:
        GROUPS[group_name].prepare = fn
        return fn

    return register


def scenario(
    group_name: str, name: str, *, note: str = "", target_ms: float | None = None
) -> Callable[[ScenarioFn], ScenarioFn]:
    """Register a measured request: `@scenario("users", "GET /api/v1/users (first page)")`.

    `target_ms`: the p95 the request must stay under; the report marks it met or missed.
    """

    def register(fn: ScenarioFn) -> ScenarioFn:
        if group_name not in GROUPS:
            raise ValueError(f"scenario {name!r}: unknown group {group_name!r}")
        if any(s.name == name for s in SCENARIOS):
            raise ValueError(f"scenario {name!r} registered twice")
        SCENARIOS.append(
            Scenario(name=name, group=group_name, fn=fn, note=note, target_ms=target_ms)
        )
        return fn

    return register


# ---------------------------------------------------------------- measuring


class ScenarioFailed(Exception):
    """The request did not answer as the scenario expects (wrong status, exception)."""


@dataclass
class Measurement:
    samples_ms: list[float]
    queries: int
    status: int

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95_ms(self) -> float:
        # Nearest-rank percentile: an observed value, never an interpolation.
        ordered = sorted(self.samples_ms)
        return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]

    @property
    def min_ms(self) -> float:
        return min(self.samples_ms)


@dataclass
class Context:
    """What a scenario gets: clients (anonymous, admin, any user), the admin's API token,
    the seeded objects each group stores in `data`, and the repetition settings."""

    repeat: int
    warmup: int = 2
    data: dict[str, Any] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)

    # -- clients
    @property
    def anon(self) -> Any:
        if "" not in self._clients:
            from django.test import Client

            self._clients[""] = Client()
        return self._clients[""]

    def client_as(self, username: str) -> Any:
        """A test client with a logged-in session for `username` (cached per user)."""
        if username not in self._clients:
            from django.contrib.auth import get_user_model
            from django.test import Client

            client = Client()
            client.force_login(get_user_model()._default_manager.get(username=username))
            self._clients[username] = client
        return self._clients[username]

    @property
    def admin(self) -> Any:
        return self.client_as("admin")

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    # -- measuring
    def get(
        self,
        path: str,
        *,
        client: Any = None,
        headers: dict[str, str] | None = None,
        expect: int = 200,
        **params: Any,
    ) -> Measurement:
        c = client if client is not None else self.admin
        return self.measure(lambda: c.get(path, params or None, headers=headers), expect=expect)

    def post(
        self,
        path: str,
        data: Any = None,
        *,
        client: Any = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
        expect: int = 200,
    ) -> Measurement:
        """Time a POST. It runs warmup + 1 + repeat times: make it safe to repeat."""
        c = client if client is not None else self.admin
        return self.measure(
            lambda: c.post(path, data, content_type=content_type, headers=headers), expect=expect
        )

    def call(self, fn: Callable[[], Any]) -> Measurement:
        """Time a plain function (a service or a selector) like a request; it must be safe
        to repeat (warmup + 1 + repeat calls). An exception fails the scenario."""

        class _Done:
            status_code = 0

        def request() -> Any:
            fn()
            return _Done

        return self.measure(request, expect=0)

    def token(self, username: str) -> dict[str, str]:
        """Bearer headers for `username`: a fresh personal token per run (the previous run's
        bench token of that user is revoked)."""
        if username not in self.data.setdefault("tokens", {}):
            from crm.access.models import ApiToken, User
            from crm.access.services import token_create, token_revoke

            user = User.objects.get(username=username)
            for old in ApiToken.objects.filter(user=user, name="bench", revoked_at=None):
                token_revoke(actor=user, token_id=old.pk)
            _token, value = token_create(actor=user, name="bench")
            self.data["tokens"][username] = value
        return self.bearer(self.data["tokens"][username])

    def measure(self, request: Callable[[], Any], *, expect: int = 200) -> Measurement:
        """Warm up, count the queries of one steady-state request, then time `repeat` requests.

        Queries are counted on a separate run so that recording SQL does not slow the timed
        runs down.
        """
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def check(response: Any) -> Any:
            if response.status_code != expect:
                body = getattr(response, "content", b"")[:300].decode("utf-8", "replace")
                raise ScenarioFailed(f"HTTP {response.status_code} (expected {expect}): {body}")
            return response

        for _ in range(self.warmup):
            check(request())
        with CaptureQueriesContext(connection) as captured:
            response = check(request())
        # Count now: `captured_queries` reads the connection's log lazily, and every request
        # clears that log when it starts.
        queries = len(captured.captured_queries)
        gc.collect()
        samples: list[float] = []
        for _ in range(self.repeat):
            started = time.perf_counter()
            timed = request()
            samples.append((time.perf_counter() - started) * 1000)
            check(timed)  # after the clock stops: a throttled or failing run must not count
        return Measurement(samples_ms=samples, queries=queries, status=response.status_code)
