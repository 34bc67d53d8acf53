"""Sending one delivery: SMTP mail, WeCom and DingTalk group robots (plain HTTPS webhooks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

TIMEOUT = 10


class DeliveryError(Exception):
    pass


def send_email(*, to: str, subject: str, body: str) -> None:
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
    except Exception as exc:  # smtplib and socket errors alike: retried later
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


def dingtalk_signed_url(url: str, secret: str, *, now_ms: int | None = None) -> str:
    """DingTalk '加签': timestamp + HMAC-SHA256(secret, f"{timestamp}\\n{secret}"), base64."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256
    ).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={timestamp}&sign={sign}"


def _post_json(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    if not url.startswith(("http://", "https://")):
        raise DeliveryError("webhook URL must be http(s)")
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310  (scheme checked above)
        url, data=data, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            body = response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    try:
        answer = json.loads(body or "{}")
    except ValueError:
        answer = {}
    # Both robots answer 200 with {"errcode": 0} on success and a non-zero errcode otherwise.
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        raise DeliveryError(f"robot error {answer.get('errcode')}: {answer.get('errmsg')}")
    return answer if isinstance(answer, dict) else {}


def send_wecom(*, url: str, title: str, body: str, link: str = "") -> None:
    text = f"**{title}**\n{body}" + (f"\n[查看]({link})" if link else "")
    _post_json(url, {"msgtype": "markdown", "markdown": {"content": text}})


def send_dingtalk(*, url: str, secret: str, title: str, body: str, link: str = "") -> None:
    target = dingtalk_signed_url(url, secret) if secret else url
    text = f"### {title}\n{body}" + (f"\n\n[查看]({link})" if link else "")
    _post_json(target, {"msgtype": "markdown", "markdown": {"title": title, "text": text}})
