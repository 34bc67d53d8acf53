from crm.access.models import User
from crm.access.visibility import is_admin, visible


def test_org_fixture_builds(org):
    assert is_admin(org.admin)
    assert not is_admin(org.zhang_wei)
    # Organisation data is readable by every standard role.
    assert visible(org.zhang_wei, User).count() == User.objects.count()
    assert org.zhang_wei.department.path.startswith(org.sales.path)
