from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _sync_keys_every_call(monkeypatch):
    """Tests create a customer and match right away: no throttling of the key sync."""
    monkeypatch.setattr("crm.dedupe.blocking.SYNC_EVERY", 0.0)
