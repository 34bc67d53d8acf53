"""Notification pages: the header bell, the list, opening and reading, preferences, group
robots (secret never shown back, test message to a local webhook) and delivery problems."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.notifications import services
from crm.notifications.models import (
    Delivery,
    DeliveryStatus,
    Notification,
    Preference,
    QuietHours,
    Robot,
)

SECRET = "SECabcdef0123456789-very-secret"


def _notify(user, title, url="", **kw):
    return services.notify(user=user, kind="system", title=title, url=url, **kw)


@pytest.fixture
def rep(org, client):
    client.force_login(org.zhang_wei)
    return org.zhang_wei


@pytest.fixture
def admin(org, client):
    client.force_login(org.admin)
    return org.admin


def test_bell_shows_unread_count_and_costs_one_query(rep, client, org):
    for i in range(3):
        _notify(rep, f"提醒 {i}")
    _notify(org.wang_fang, "别人的通知")
    future = timezone.now() + dt.timedelta(hours=3)
    _notify(rep, "明早才提醒", deliver_after=future)  # deferred: not counted yet
    page = client.get(reverse("notification_list")).content.decode()
    assert "通知（3 条未读）" in page
    assert 'data-testid="notification-count"' in page
    assert 'hx-trigger="every 60s"' in page

    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = rep
    template = Template("{% load notifications_ui %}{% notification_bell %}")
    with CaptureQueriesContext(connection) as queries:
        html = template.render(Context({"user": rep, "request": request}))
    assert len(queries) == 1
    assert "通知（3 条未读）" in html


def test_bell_fragments(rep, client):
    _notify(rep, "客户「甲」已 9 天未跟进", url="/customers/1/")
    badge = client.get(reverse("notification_bell")).content.decode()
    assert "通知（1 条未读）" in badge and 'hx-trigger="every 60s"' in badge
    menu = client.get(reverse("notification_bell") + "?part=menu&next=/x/").content.decode()
    assert "客户「甲」已 9 天未跟进" in menu
    assert "全部已读" in menu
    assert 'value="/x/"' in menu


def test_bell_without_notifications(rep, client):
    badge = client.get(reverse("notification_bell")).content.decode()
    assert "通知（0 条未读）" in badge
    assert "notification-count" not in badge


def test_list_tabs_and_paging(rep, client):
    for i in range(35):
        _notify(rep, f"第 {i} 条")
    newest = Notification.objects.filter(user=rep).order_by("id").last()
    services.notifications_mark_read(actor=rep, ids=[newest.pk])
    page = client.get(reverse("notification_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "第 34 条" in html and "第 0 条" not in html
    assert "更早的通知" in html
    cursor = html.split("cursor=")[1].split('"')[0]
    second = client.get(reverse("notification_list") + f"?tab=all&cursor={cursor}").content
    assert "第 0 条" in second.decode()
    unread = client.get(reverse("notification_list") + "?tab=unread").content.decode()
    assert "第 34 条" not in unread and "第 33 条" in unread


def test_open_marks_read_and_follows_relative_url(rep, client):
    n = _notify(rep, "去客户页", url="/customers/7/")
    response = client.get(reverse("notification_open", args=[n.pk]))
    assert response.status_code == 302 and response["Location"] == "/customers/7/"
    n.refresh_from_db()
    assert n.read_at is not None


@pytest.mark.parametrize("url", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_open_refuses_external_redirect(rep, client, url):
    n = _notify(rep, "外部链接", url=url)
    response = client.get(reverse("notification_open", args=[n.pk]))
    assert response["Location"] == reverse("notification_list")


def test_open_someone_elses_notification_is_404(rep, client, org):
    n = _notify(org.wang_fang, "别人的")
    assert client.get(reverse("notification_open", args=[n.pk])).status_code == 404
    n.refresh_from_db()
    assert n.read_at is None


def test_read_all(rep, client, org):
    for i in range(3):
        _notify(rep, f"提醒 {i}")
    other = _notify(org.wang_fang, "别人的")
    assert client.get(reverse("notification_read_all")).status_code == 405
    response = client.post(reverse("notification_read_all"), {"next": "/customers/"})
    assert response["Location"] == "/customers/"
    assert not Notification.objects.filter(user=rep, read_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.read_at is None
    response = client.post(reverse("notification_read_all"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("notification_list")


def test_prefs_saved(rep, client):
    page = client.get(reverse("notification_prefs")).content.decode()
    assert "客户长期未跟进" in page and "企业微信" in page and "钉钉" in page
    # default of no_follow_up includes email: shown checked
    assert 'name="kind_no_follow_up" value="email"' in page
    response = client.post(
        reverse("notification_prefs"),
        {
            "kind_no_follow_up": ["wecom"],
            "kind_task_overdue": ["email", "dingtalk"],
            "quiet_start": "21:00",
            "quiet_end": "08:00",
        },
    )
    assert response.status_code == 302
    prefs = {p.kind: p.channels for p in Preference.objects.filter(user=rep)}
    assert prefs["no_follow_up"] == ["wecom"]
    assert prefs["task_overdue"] == ["email", "dingtalk"]
    assert prefs["birthday"] == []
    quiet = QuietHours.objects.get(user=rep)
    assert (quiet.start, quiet.end) == (dt.time(21, 0), dt.time(8, 0))


def test_prefs_half_quiet_hours_is_an_error_next_to_the_field(rep, client):
    response = client.post(reverse("notification_prefs"), {"quiet_start": "21:00"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "免打扰需要同时设置开始和结束时间" in html
    assert 'value="21:00"' in html


def test_my_settings_links_to_prefs(rep, client):
    assert reverse("notification_prefs") in client.get(reverse("my_settings")).content.decode()


@pytest.mark.parametrize(
    "name",
    ["robot_list", "delivery_problems"],
)
def test_admin_pages_404_for_non_admins(rep, client, name):
    assert client.get(reverse(name)).status_code == 404


def test_robot_edit_and_retry_404_for_non_admins(rep, client, org):
    robot = Robot.objects.create(department=org.east, provider="wecom", name="r", url="https://x/")
    assert client.get(reverse("robot_edit", args=[robot.pk])).status_code == 404
    assert client.get(reverse("robot_edit", args=[0])).status_code == 404
    assert client.post(reverse("delivery_retry", args=[1])).status_code == 404


def test_robot_create_and_secret_never_rendered_back(admin, client, org):
    response = client.post(
        reverse("robot_edit", args=[0]),
        {
            "department": org.east.pk,
            "provider": "dingtalk",
            "name": "华东销售群",
            "url": "https://oapi.dingtalk.com/robot/send?access_token=abc",
            "secret": SECRET,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    robot = Robot.objects.get(name="华东销售群")
    assert robot.secret == SECRET and robot.department == org.east
    page = client.get(response["Location"]).content.decode()
    assert SECRET not in page
    assert "已设置" in page
    listing = client.get(reverse("robot_list")).content.decode()
    assert "华东销售群" in listing and SECRET not in listing and "已设置" in listing
    # Saving without a secret keeps the stored one.
    client.post(
        reverse("robot_edit", args=[robot.pk]),
        {
            "department": org.east.pk,
            "provider": "dingtalk",
            "name": "华东销售群 2",
            "url": robot.url,
            "secret": "",
            "is_active": "on",
        },
    )
    robot.refresh_from_db()
    assert robot.name == "华东销售群 2" and robot.secret == SECRET


def test_robot_bad_url_error_next_to_field(admin, client, org):
    response = client.post(
        reverse("robot_edit", args=[0]),
        {
            "department": org.east.pk,
            "provider": "wecom",
            "name": "群",
            "url": "ftp://nope",
            "secret": SECRET,
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Webhook 地址应以 https:// 开头" in html
    assert SECRET not in html
    assert not Robot.objects.exists()


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[dict] = []
    answer = b'{"errcode": 0, "errmsg": "ok"}'

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        type(self).requests.append(
            {"path": self.path, "body": json.loads(self.rfile.read(length) or b"{}")}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(type(self).answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Recorder.requests = []
    _Recorder.answer = b'{"errcode": 0, "errmsg": "ok"}'
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder
    server.shutdown()
    server.server_close()


def test_robot_test_message_dingtalk_signed(admin, client, org, webhook):
    base, recorder = webhook
    robot = services.robot_save(
        actor=admin,
        department=org.east,
        provider="dingtalk",
        name="华东群",
        url=f"{base}/robot/send?access_token=t",
        secret=SECRET,
    )
    response = client.post(reverse("robot_edit", args=[robot.pk]), {"action": "test"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "测试消息已发送成功" in html
    assert SECRET not in html
    assert len(recorder.requests) == 1
    sent = recorder.requests[0]
    assert sent["path"].startswith("/robot/send?access_token=t&timestamp=")
    assert "&sign=" in sent["path"]
    assert sent["body"]["msgtype"] == "markdown"
    assert "测试消息" in sent["body"]["markdown"]["title"]


def test_robot_test_message_shows_the_error(admin, client, org, webhook):
    base, recorder = webhook
    recorder.answer = b'{"errcode": 310000, "errmsg": "keywords not in content"}'
    robot = services.robot_save(
        actor=admin, department=org.east, provider="wecom", name="群", url=f"{base}/hook"
    )
    html = client.post(reverse("robot_edit", args=[robot.pk]), {"action": "test"}).content
    assert "发送失败" in html.decode() and "310000" in html.decode()
    assert recorder.requests[0]["body"]["msgtype"] == "markdown"


def test_delivery_problems_and_retry(admin, client, org):
    n = _notify(org.zhang_wei, "待办「回访」已逾期")
    d = Delivery.objects.create(
        notification=n,
        channel="email",
        target="z@example.com",
        status=DeliveryStatus.GAVE_UP,
        attempts=6,
        last_error="SMTPServerDisconnected: boom",
    )
    html = client.get(reverse("delivery_problems")).content.decode()
    assert "待办「回访」已逾期" in html and "SMTPServerDisconnected" in html and "重试" in html
    assert client.get(reverse("delivery_retry", args=[d.pk])).status_code == 405
    response = client.post(reverse("delivery_retry", args=[d.pk]))
    assert response.status_code == 302
    d.refresh_from_db()
    assert d.status == DeliveryStatus.PENDING


def test_admin_nav_entries(admin, client):
    html = client.get(reverse("notification_list")).content.decode()
    for label in ("提醒规则", "工作日历", "群机器人", "通知投递"):
        assert label in html
