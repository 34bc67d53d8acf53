"""`crm demo` step: a few duplicates such as a legacy spreadsheet leaves behind, and a scan,
so the review queue (/duplicates/) has something to show.

For three demo customers of the 华东 team, a second record of the same company is added
the way old data looks (no legal suffix, the city in brackets, a contact's phone shared),
created by the administrator as an import would; then the scan queues the pairs.
Skipped when the variants already exist.
"""

from __future__ import annotations

from crm.access.models import User
from crm.demo import demo_step_register

OWNERS = ("li.na", "zhang.wei", "wu.lei")


def _variant(name: str) -> str:
    """杭州XX科技有限公司 → XX科技(杭州): how the same company appears in old spreadsheets."""
    from crm.dedupe.keys import name_parts

    parts = name_parts(name)
    base = parts.core or name
    return f"{base}({parts.city})" if parts.city else f"{base}(老客户)"


def demo_duplicates(users: dict[str, User]) -> str:
    from crm.core.errors import DomainError
    from crm.customers.models import Contact, Customer
    from crm.customers.services import customer_create
    from crm.dedupe.services import duplicate_scan

    admin = users.get("admin")
    if admin is None:
        return "duplicates: no admin user, skipped"
    created = 0
    for username in OWNERS:
        owner = users.get(username)
        if owner is None:
            continue
        original = (
            Customer.objects.filter(owner=owner).exclude(name__contains="(").order_by("pk").first()
        )
        if original is None:
            continue
        name = _variant(original.name)
        if Customer.all_objects.filter(name=name).exists():
            continue
        contact = Contact.objects.filter(customer=original).exclude(mobile="").first()
        contacts = [{"name": "老客户联系人", "mobile": contact.mobile}] if contact else []
        try:
            customer_create(
                actor=admin,
                owner=owner,
                data={"name": name, "source": "其他", "notes": "从旧系统表格导入"},
                contacts=contacts,
                allow_duplicate=True,
            )
        except DomainError:
            continue
        created += 1
    result = duplicate_scan(full=True)
    return f"duplicates: {created} legacy records, {result.created} pairs queued"


demo_step_register(80, "duplicates", demo_duplicates)
