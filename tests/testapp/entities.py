from crm.access.registry import Entity, FieldSpec, register
from tests.testapp.models import Note

register(
    Entity(
        key="note",
        model=Note,
        label="Note",
        owner_field="owner",
        soft_delete=True,
        fields=(
            FieldSpec("title", "title"),
            FieldSpec("phone", "phone", kind="phone"),
            FieldSpec("email", "email", kind="email"),
            FieldSpec("amount", "amount", kind="money", sensitive=True),
        ),
    )
)
