"""Make bypassing the permission layer visible (conventions.md §6): the thin layers (views,
API endpoints, forms, template tags, navigation) never touch a model manager directly; they
call selectors and services, which start from crm.access.visibility."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "crm"
THIN = ("views.py", "admin_views.py", "api.py", "forms.py", "admin_forms.py", "nav.py")
MANAGER = re.compile(r"\b[A-Z]\w*\.(objects|all_objects|_default_manager)\b")


def _thin_files() -> list[Path]:
    files = [p for p in ROOT.rglob("*.py") if p.name in THIN]
    files += list(ROOT.rglob("templatetags/*.py"))
    return sorted(files)


def test_thin_layers_do_not_query_models_directly():
    offenders = []
    for path in _thin_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if MANAGER.search(line):
                offenders.append(f"{path.relative_to(ROOT.parent)}:{number}: {line.strip()}")
    assert not offenders, "ORM access outside selectors/services:\n" + "\n".join(offenders)


def test_templates_do_not_reach_managers():
    offenders = [
        str(p.relative_to(ROOT.parent))
        for p in ROOT.rglob("*.html")
        if re.search(r"\.objects\.", p.read_text(encoding="utf-8"))
    ]
    assert not offenders, offenders


def test_there_are_thin_files_to_check():
    assert len(_thin_files()) > 10
