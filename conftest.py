"""Shared fixtures: the demo-like organisation most tests need, built with factories."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop + live_server


@pytest.fixture
def org(db):
    """A small org mirroring the demo: roles, 华东/华南 departments, managers and reps.

    Returns a namespace with users (admin, li_na, zhang_wei, wang_fang, huang_qiang, zhao_min,
    chen_jing, liu_yang), departments (company, sales, east, south, north, marketing,
    service, finance) and roles (dict by code).
    """
    from crm.access.tests.factories import build_org

    return build_org()
