"""How a notification reaches a channel: one small class per kind with one `notify()` that
raises `TransportError(message, permanent=...)`; a registry maps a channel's kind to its class.

Permanent means "retrying will not help" (a revoked token, an unknown routing key, a URL that
answers 404): the channel is disabled with that message. Anything else (a timeout, a 5xx, a
rate limit) is retried with backoff. Base URLs come from settings (SLACK_API_URL,
PAGERDUTY_EVENTS_URL) so a proxy or a test server can stand in; webhook URLs are the tenant's
own and are checked against private addresses first.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import smtplib
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from sessions.workspaces.sources import HostUnresolvable, non_global_kind, resolve
from tenants import encryption

from .choices import ChannelKind, NotificationEvent, Severity

SIGNATURE_HEADER = "X-Orchestrator-Signature"
# Slack's errors that no retry fixes: the channel's configuration is wrong.
SLACK_PERMANENT = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "missing_scope",
    "invalid_blocks",
}
PAGERDUTY_SEVERITY = {Severity.CRITICAL: "critical", Severity.WARNING: "warning"}


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message[:1000]
        self.permanent = permanent


def secret_of(channel) -> str:
    if not channel.secret_encrypted:
        return ""
    try:
        return encryption.decrypt(channel.secret_encrypted)
    except encryption.SecretUnreadable as exc:
        raise TransportError(str(exc), permanent=True) from None


def headline(payload: dict) -> str:
    event = payload.get("event")
    if event == NotificationEvent.TEST:
        return f"Test notification from claude-orchestrator ({payload.get('channel', '')})"
    firing, resolved = payload.get("firing", []), payload.get("resolved", [])
    parts = [f"{len(firing)} firing"] if firing else []
    parts += [f"{len(resolved)} resolved"] if resolved else []
    return f"[{', '.join(parts)}] {payload.get('rule', '')}"[:150]


def text_lines(payload: dict) -> list[str]:
    lines = [f"FIRING: {a['summary']}" for a in payload.get("firing", [])]
    lines += [f"RESOLVED: {a['summary']}" for a in payload.get("resolved", [])]
    return lines or ["This is a test: the channel works."]


class Transport:
    def notify(self, channel, payload: dict, delivery_id: str) -> None:
        raise NotImplementedError


class SlackTransport(Transport):
    """chat.postMessage through slack-sdk's WebClient, with blocks: a header, the fields, and
    a link to the dashboard."""

    def notify(self, channel, payload, delivery_id):
        client = WebClient(
            token=secret_of(channel),
            base_url=settings.SLACK_API_URL,
            timeout=int(settings.ALERT_TRANSPORT_TIMEOUT),
        )
        try:
            client.chat_postMessage(
                channel=channel.config.get("channel", ""),
                text=headline(payload),
                blocks=self.blocks(payload),
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if exc.response is not None else ""
            status = exc.response.status_code if exc.response is not None else 0
            permanent = error in SLACK_PERMANENT or (400 <= status < 500 and status != 429)
            message = f"Slack answered {status} {error}".strip()
            raise TransportError(message, permanent=permanent) from None
        except (SlackClientError, OSError, ValueError) as exc:
            raise TransportError(f"Slack unreachable: {exc}") from None

    def blocks(self, payload: dict) -> list[dict]:
        organization = payload.get("organization") or "platform"
        fields = [
            {"type": "mrkdwn", "text": f"*Severity*\n{payload.get('severity', '-')}"},
            {"type": "mrkdwn", "text": f"*Organization*\n{organization}"},
        ]
        body = "\n".join(f"• {line}" for line in text_lines(payload))[:2900]
        blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": headline(payload)}},
            {"type": "section", "fields": fields},
            {"type": "section", "text": {"type": "mrkdwn", "text": body}},
        ]
        link = payload.get("link")
        if link:
            blocks.append(
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"<{link}|Open alerts in the dashboard>"},
                }
            )
        return blocks


def post_json(url: str, body: bytes, headers: dict) -> int:
    """POST `body`; the status of a 2xx, TransportError otherwise. No redirects (a redirect
    turns a POST into a GET and loses the notification)."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=settings.ALERT_TRANSPORT_TIMEOUT) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        exc.close()
        permanent = 400 <= exc.code < 500 and exc.code not in (408, 409, 425, 429)
        raise TransportError(f"HTTP {exc.code} {detail}".strip(), permanent=permanent) from None
    except (OSError, ValueError) as exc:
        raise TransportError(f"unreachable: {exc}") from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class PagerDutyTransport(Transport):
    """Events API v2: one event per alert, `trigger` or `resolve`, with the alert's fingerprint
    as `dedup_key`, so a retried delivery never opens a second incident."""

    def notify(self, channel, payload, delivery_id):
        routing_key = secret_of(channel)
        for action, alert in self.events(payload, delivery_id):
            event = {
                "routing_key": routing_key,
                "event_action": action,
                "dedup_key": alert["fingerprint"],
                "payload": {
                    "summary": alert["summary"][:1024],
                    "source": payload.get("organization") or "claude-orchestrator platform",
                    "severity": PAGERDUTY_SEVERITY.get(payload.get("severity"), "info"),
                    "custom_details": alert.get("details", {}),
                },
            }
            if payload.get("link"):
                event["links"] = [{"href": payload["link"], "text": "Alerts in the dashboard"}]
            body = json.dumps(event).encode()
            post_json(settings.PAGERDUTY_EVENTS_URL, body, {"Content-Type": "application/json"})

    def events(self, payload: dict, delivery_id: str) -> list[tuple[str, dict]]:
        if payload.get("event") == NotificationEvent.TEST:
            test = {"fingerprint": f"test-{delivery_id}", "summary": headline(payload)}
            return [("trigger", test), ("resolve", test)]
        return [("trigger", a) for a in payload.get("firing", [])] + [
            ("resolve", a) for a in payload.get("resolved", [])
        ]


class EmailTransport(Transport):
    """Django's mail backend (EMAIL_* settings)."""

    def notify(self, channel, payload, delivery_id):
        message = EmailMessage(
            subject=headline(payload),
            body="\n".join([*text_lines(payload), "", payload.get("link", "")]).strip() + "\n",
            to=list(channel.config.get("to", [])),
            headers={"X-Alert-Delivery": delivery_id},
            connection=get_connection(timeout=settings.ALERT_TRANSPORT_TIMEOUT),
        )
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(f"recipients refused: {exc.recipients}", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"mail not sent: {exc}") from None


class WebhookTransport(Transport):
    """A JSON POST signed with HMAC-SHA256 of the raw body (`X-Orchestrator-Signature:
    sha256=<hex>`), with the delivery's id as the receiver's dedupe key."""

    def notify(self, channel, payload, delivery_id):
        url = channel.config.get("url", "")
        check_webhook_url(url)
        body = json.dumps(payload, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "claude-orchestrator-alerts",
            "X-Alert-Delivery": delivery_id,
            SIGNATURE_HEADER: signature(secret_of(channel), body),
        }
        post_json(url, body, headers)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_webhook_url(url: str) -> None:
    """TransportError unless the URL may be posted to: a tenant's URL must not reach the
    operator's own network (loopback, link-local, private addresses) unless its host is in
    ALERT_WEBHOOK_ALLOWED_PRIVATE_HOSTS. Checked when saved and again before each post (DNS
    may answer differently later; a rebinding between this check and the connect is the
    accepted gap)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError("A webhook URL is http:// or https:// with a host.", permanent=True)
    if parts.username or parts.password:
        raise TransportError(
            "A webhook URL carries no user or password; use the signing secret.", permanent=True
        )
    host = parts.hostname.lower().rstrip(".")
    if host in {h.lower().rstrip(".") for h in settings.ALERT_WEBHOOK_ALLOWED_PRIVATE_HOSTS}:
        return
    try:
        addresses = resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (HostUnresolvable, ValueError):
        # Maybe a passing DNS failure: retried, never a reason to disable the channel.
        raise TransportError(f"The webhook host {host} does not resolve.") from None
    for address in addresses:
        kind = non_global_kind(ipaddress.ip_address(address))
        if kind:
            raise TransportError(
                f"The webhook host {host} is {address}, a {kind} address; only hosts in "
                "ALERT_WEBHOOK_ALLOWED_PRIVATE_HOSTS may be.",
                permanent=True,
            )


TRANSPORTS: dict[str, Transport] = {
    ChannelKind.SLACK: SlackTransport(),
    ChannelKind.PAGERDUTY: PagerDutyTransport(),
    ChannelKind.EMAIL: EmailTransport(),
    ChannelKind.WEBHOOK: WebhookTransport(),
}
