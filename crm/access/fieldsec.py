"""Field-level security, applied in one place whenever a record becomes a form, a page,
an API response or an export row.

Levels (most restrictive first): hidden, masked, reveal (masked, but the user may reveal
the clear value and the reveal is audited), readonly, editable. With several roles the
most permissive level wins; a role with no rule for a field leaves it editable.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from crm.access.models import ACCESS_RANK, FieldAccess
from crm.access.registry import Entity, entity_for_model, entity_get
from crm.access.visibility import _cache, is_active_user, is_admin, require
from crm.core.errors import PermissionDenied

MASK = "****"


def _rules(actor: Any) -> dict[tuple[str, str], list[str]]:
    cache = _cache(actor)
    if "field_rules" not in cache:
        from crm.access.models import FieldRule

        rules: dict[tuple[str, str], list[str]] = {}
        role_ids = list(actor.roles.values_list("pk", flat=True))
        cache["role_count"] = len(role_ids)
        for role_id, entity, field, access in FieldRule.objects.filter(
            role_id__in=role_ids
        ).values_list("role_id", "entity", "field", "access"):
            rules.setdefault((entity, field), []).append(f"{role_id}:{access}")
        cache["field_rules"] = rules
    return cache["field_rules"]


def field_level(actor: Any, entity_key: str, field: str) -> str:
    if not is_active_user(actor):
        return FieldAccess.HIDDEN
    if is_admin(actor):
        return FieldAccess.EDITABLE
    rules = _rules(actor).get((entity_key, field))
    if not rules:
        return FieldAccess.EDITABLE
    role_count = _cache(actor)["role_count"]
    levels = [r.split(":", 1)[1] for r in rules]
    if len({r.split(":", 1)[0] for r in rules}) < role_count:
        # Some role of the actor has no rule for this field: that role leaves it editable.
        return FieldAccess.EDITABLE
    return max(levels, key=lambda a: ACCESS_RANK.get(a, 0))


def field_levels(actor: Any, entity_key: str) -> dict[str, str]:
    entity = entity_get(entity_key)
    return {f.name: field_level(actor, entity_key, f.name) for f in entity.fields}


def mask_value(value: Any, kind: str = "text") -> str | None:
    """138 1234 5678 → 138****5678; zhang@x.cn → z***@x.cn; amounts → ****."""
    if value is None or value == "":
        return value
    text = str(value)
    if kind == "phone":
        digits = _national_digits(text)
        if len(digits) >= 7:
            return digits[:3] + MASK + digits[-4:]
        return MASK
    if kind == "email" and "@" in text:
        local, _sep, domain = text.rpartition("@")
        return (local[:1] or "*") + "***@" + domain
    if kind in ("money", "number", "secret"):
        return MASK
    return text[:1] + MASK


def _national_digits(text: str) -> str:
    """The digits of a phone number without its country code: +86 138… shows as 138…."""
    digits = "".join(c for c in text if c.isdigit())
    stripped = text.strip()
    international = stripped.startswith("+") or stripped.startswith("00")
    if international:
        import phonenumbers

        try:
            number = phonenumbers.parse("+" + digits.removeprefix("00"), None)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and number.country_code:
            national = phonenumbers.national_significant_number(number)
            if national:
                return national
    if len(digits) == 13 and digits.startswith("861"):
        return digits[2:]  # 86 + an 11-digit mainland mobile, written without "+"
    return digits


def present(actor: Any, obj: Any, fields: list[str] | None = None) -> dict[str, Any]:
    """The values of `obj` the actor may read: hidden fields absent, masked ones masked."""
    entity = entity_for_model(type(obj))
    names = fields if fields is not None else entity.field_names
    out: dict[str, Any] = {}
    for name in names:
        level = field_level(actor, entity.key, name)
        if level == FieldAccess.HIDDEN:
            continue
        value = getattr(obj, name, None)
        if level in (FieldAccess.MASKED, FieldAccess.REVEAL):
            spec = entity.field(name)
            value = mask_value(value, spec.kind if spec else "text")
        out[name] = value
    return out


def field_state(actor: Any, entity: Entity, name: str) -> dict[str, bool]:
    """For templates and form builders: what to draw for one field."""
    level = field_level(actor, entity.key, name)
    return {
        "hidden": level == FieldAccess.HIDDEN,
        "masked": level in (FieldAccess.MASKED, FieldAccess.REVEAL),
        "revealable": level == FieldAccess.REVEAL,
        "readonly": ACCESS_RANK[level] < ACCESS_RANK[FieldAccess.EDITABLE],
    }


def writable_fields(actor: Any, entity_key: str, fields: list[str]) -> list[str]:
    return [f for f in fields if field_level(actor, entity_key, f) == FieldAccess.EDITABLE]


def require_writable(actor: Any, entity_key: str, fields: list[str]) -> None:
    """Services call this with the fields a change touches; the first blocked field is named."""
    for name in fields:
        if field_level(actor, entity_key, name) != FieldAccess.EDITABLE:
            raise PermissionDenied(_("您无权修改此字段"), field=name)


def reveal(actor: Any, obj: Any, field: str) -> Any:
    """Return the clear value of a masked field, if allowed; the reveal is audited."""
    from crm.audit.services import audit_record

    entity = entity_for_model(type(obj))
    # A record outside the actor's scope stays missing, whatever the field rules say.
    require(actor, "view", obj)
    level = field_level(actor, entity.key, field)
    if ACCESS_RANK[level] < ACCESS_RANK[FieldAccess.REVEAL]:
        raise PermissionDenied(_("您无权查看此字段的明文"), field=field)
    audit_record(action="reveal", actor=actor, obj=obj, changes={"field": field})
    return getattr(obj, field, None)
