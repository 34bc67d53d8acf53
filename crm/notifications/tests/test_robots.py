"""WeCom and DingTalk group robots against a local HTTP server that records the requests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from crm.notifications.channels import dingtalk_signed_url
from crm.notifications.models import Delivery, DeliveryStatus
from crm.notifications.services import (
    deliveries_dispatch,
    notify,
    preferences_set,
    robot_for,
    robot_save,
)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class RobotServer:
    port: int
    requests: list[Recorded] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def robot_server() -> Iterator[RobotServer]:
    """Answers like the real robots: {"errcode": 0} on /ok…, a signature error on /badsign…,
    HTTP 500 on /broken…"""
    recorder = RobotServer(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            recorder.requests.append(
                Recorded(
                    "POST",
                    parsed.path,
                    urllib.parse.parse_qs(parsed.query),
                    json.loads(raw.decode("utf-8")),
                )
            )
            if parsed.path.startswith("/broken"):
                self.send_response(500)
                self.end_headers()
                self.wfile.write(b"internal error")
                return
            answer = (
                {"errcode": 310000, "errmsg": "sign not match"}
                if parsed.path.startswith("/badsign")
                else {"errcode": 0, "errmsg": "ok"}
            )
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with override_settings(SITE_URL="https://crm.huaxin.example"):
            yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _robot(org, department, provider, url, secret=""):
    return robot_save(
        actor=org.admin,
        department=department,
        provider=provider,
        name=f"{department.name}群",
        url=url,
        secret=secret,
    )


def _notify(org, channel: str, user=None):
    user = user or org.zhang_wei
    preferences_set(actor=user, prefs={"no_follow_up": [channel]})
    n = notify(
        user=user,
        kind="no_follow_up",
        title="客户「上海恒通机械设备有限公司」已 9 天未跟进",
        body="上次跟进：2027-01-01。建议今天联系一下。",
        url="/customers/7/",
    )
    assert n is not None
    return n


def test_wecom_markdown(org, robot_server):
    robot = _robot(org, org.east, "wecom", robot_server.url("/ok/cgi-bin/webhook/send?key=abc"))
    n = _notify(org, "wecom")
    [d] = n.deliveries.all()
    assert (d.channel, d.target) == ("wecom", str(robot.pk))
    assert deliveries_dispatch() == 1
    [req] = robot_server.requests
    assert (req.method, req.path, req.query) == (
        "POST",
        "/ok/cgi-bin/webhook/send",
        {"key": ["abc"]},
    )
    assert req.body["msgtype"] == "markdown"
    content = req.body["markdown"]["content"]
    assert content.startswith("**客户「上海恒通机械设备有限公司」已 9 天未跟进**\n")
    assert f"@{org.zhang_wei.name}" in content
    assert "上次跟进：2027-01-01" in content
    assert "[查看](https://crm.huaxin.example/customers/7/)" in content
    d.refresh_from_db()
    assert (d.status, d.attempts) == (DeliveryStatus.SENT, 1)


def test_dingtalk_payload_and_signature(org, robot_server):
    secret = "SEC0123456789abcdef+/="  # characters that need URL quoting once signed
    _robot(org, org.east, "dingtalk", robot_server.url("/ok/robot/send?access_token=tok"), secret)
    _notify(org, "dingtalk")
    before = int(time.time() * 1000)
    assert deliveries_dispatch() == 1
    after = int(time.time() * 1000)
    [req] = robot_server.requests
    assert req.path == "/ok/robot/send"
    assert req.query["access_token"] == ["tok"]
    [timestamp] = req.query["timestamp"]
    [sign] = req.query["sign"]
    assert before - 1000 <= int(timestamp) <= after + 1000
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert sign == expected
    assert req.body["msgtype"] == "markdown"
    assert req.body["markdown"]["title"] == "客户「上海恒通机械设备有限公司」已 9 天未跟进"
    text = req.body["markdown"]["text"]
    assert text.startswith("### 客户「上海恒通机械设备有限公司」已 9 天未跟进\n")
    assert "[查看](https://crm.huaxin.example/customers/7/)" in text


def test_dingtalk_signed_url_is_reproducible():
    url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=t", "s", now_ms=1)
    digest = hmac.new(b"s", b"1\ns", hashlib.sha256).digest()
    assert url == (
        "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1&sign="
        + urllib.parse.quote_plus(base64.b64encode(digest))
    )


def test_dingtalk_without_secret_is_not_signed(org, robot_server):
    _robot(org, org.east, "dingtalk", robot_server.url("/ok/robot/send?access_token=tok"))
    _notify(org, "dingtalk")
    deliveries_dispatch()
    [req] = robot_server.requests
    assert set(req.query) == {"access_token"}


def test_robot_error_code_fails_with_its_message(org, robot_server):
    _robot(org, org.east, "dingtalk", robot_server.url("/badsign/robot/send?access_token=t"), "x")
    n = _notify(org, "dingtalk")
    now = timezone.now()
    assert deliveries_dispatch(now=now) == 0
    d = Delivery.objects.get(notification=n)
    assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 1)
    assert "310000" in d.last_error and "sign not match" in d.last_error
    assert len(robot_server.requests) == 1


def test_http_500_fails(org, robot_server):
    _robot(org, org.east, "wecom", robot_server.url("/broken/send?key=k"))
    n = _notify(org, "wecom")
    deliveries_dispatch()
    d = Delivery.objects.get(notification=n)
    assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 1)
    assert "500" in d.last_error


def test_disabled_robot_fails_the_delivery(org, robot_server):
    robot = _robot(org, org.east, "wecom", robot_server.url("/ok/send?key=k"))
    n = _notify(org, "wecom")
    robot.is_active = False
    robot.save()
    deliveries_dispatch()
    d = Delivery.objects.get(notification=n)
    assert d.status == DeliveryStatus.FAILED and "disabled" in d.last_error
    assert robot_server.requests == []


def test_nearest_ancestor_department_robot(org, robot_server):
    """zhang_wei is in 华东销售部 (no robot) under 销售中心 (robot) under 公司 (robot)."""
    _robot(org, org.company, "wecom", robot_server.url("/ok/company?key=c"))
    sales = _robot(org, org.sales, "wecom", robot_server.url("/ok/sales?key=s"))
    _robot(org, org.south, "wecom", robot_server.url("/ok/south?key=x"))  # a sibling: never
    assert robot_for(org.zhang_wei, "wecom") == sales
    assert robot_for(org.zhang_wei, "dingtalk") is None
    _notify(org, "wecom")
    deliveries_dispatch()
    assert [r.path for r in robot_server.requests] == ["/ok/sales"]

    # The department's own robot wins once it has one.
    own = _robot(org, org.east, "wecom", robot_server.url("/ok/east?key=e"))
    assert robot_for(org.zhang_wei, "wecom") == own
    # Someone in the finance department falls back to the company's robot.
    fallback = robot_for(org.liu_yang, "wecom")
    assert fallback is not None and fallback.department == org.company
