import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from crm.activities import services
from crm.activities.selectors import my_day
from crm.customers import services as customer_services
from crm.notifications.models import Notification
from crm.reminders.services import rules_run


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


def test_followup_and_rules(org):
    c = customer_services.customer_create(
        actor=org.zhang_wei, data={"name": "测试客户", "level": "A"}
    )
    now = timezone.now()
    f = services.followup_create(
        actor=org.zhang_wei,
        customer=c,
        kind="visit",
        content="拜访",
        next_action="发报价",
        next_follow_up_at=now + dt.timedelta(days=3),
        files=[SimpleUploadedFile("a.png", PNG, "image/png")],
        create_task=True,
    )
    c.refresh_from_db()
    assert c.last_follow_up_at == f.at and c.status == "following"
    assert f.attachments.get().thumbnail
    assert my_day(actor=org.zhang_wei, now=now + dt.timedelta(days=3, hours=1)).overdue_tasks
    later = now + dt.timedelta(days=11)
    later = later.replace(hour=10)
    while later.weekday() >= 5:
        later += dt.timedelta(days=1)
    rules_run(now=later)
    rules_run(now=later + dt.timedelta(minutes=15))
    titles = list(Notification.objects.filter(user=org.zhang_wei).values_list("kind", flat=True))
    assert titles.count("no_follow_up") == 1
    assert Notification.objects.filter(user=org.li_na, kind="no_follow_up").count() == 1
