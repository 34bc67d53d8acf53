"""The customer and contact lists' filters, parsed in one place: the list pages and the
exports of those lists (crm/customers/exports.py) read the same query string the same way.

A form's choices (owners, departments, tags, custom fields) come from selectors, so a value
the actor may not pick (another region's owner id, an unknown tag) is dropped here exactly
as on the page — the export never filters differently from what the user was looking at.
"""

from __future__ import annotations

from typing import Any

from crm.access.selectors import department_tree, user_choices
from crm.customers import config
from crm.customers.forms import ContactFilterForm, CustomerFilterForm
from crm.customers.selectors import custom_fields_for, customer_owner_shortlist, tag_list


def _bound(params: Any) -> Any:
    """A list opened without filters is an unbound form (its defaults), as on the page."""
    return params if any(k != "cursor" for k in params) else None


def customer_filter_form(
    actor: Any, params: Any, *, tags: list[Any] | None = None
) -> CustomerFilterForm:
    """The customer list's filter form over `params` (a QueryDict or a dict)."""
    return CustomerFilterForm(
        _bound(params),
        levels=config.levels(),
        users=customer_owner_shortlist(actor=actor, include=params.get("owner")),
        departments=department_tree(actor=actor),
        tags=tag_list(actor=actor) if tags is None else tags,
        custom_defs=custom_fields_for("customer"),
    )


def contact_filter_form(actor: Any, params: Any) -> ContactFilterForm:
    """The contact list's filter form over `params`."""
    return ContactFilterForm(
        _bound(params),
        users=user_choices(actor=actor),
        departments=department_tree(actor=actor),
        tags=tag_list(actor=actor),
        custom_defs=custom_fields_for("contact"),
    )
