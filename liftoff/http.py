"""HTTP to the outside, written once: health probes and signed webhook POSTs (httpx).

Nothing here follows redirects (a health endpoint that redirects answers what it
answers), and every call has a timeout: a deployer or a service that hangs ends a step
with a reason, never a worker stuck.
"""

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from standardwebhooks.webhooks import Webhook

USER_AGENT = "Liftoff"


@dataclass(frozen=True)
class Probe:
    url: str
    status: int | None  # None: no answer (refused, timed out)
    body: object  # the parsed JSON answer, or None
    error: str
    milliseconds: int


# The probes' client, one per process, shared by its threads (httpx.Client is thread-safe).
# `httpx.get` built a client for every probe, and a client builds an SSL context (loads
# the CA bundle) even for plain HTTP: tens of ms of CPU each, which made 200 probes of
# endpoints on loopback take 6-10 s (docs/performance.md). No connection is kept between
# probes (max_keepalive_connections=0): each probe still opens its own connection and asks
# the service as it is now, never an old process behind a kept socket. Nor does it keep
# cookies: one service's cookie (cookies ignore ports) must not reach another's probe.
_probe_client: tuple[int, httpx.Client] | None = None
_probe_client_lock = threading.Lock()


def _client() -> httpx.Client:
    global _probe_client
    with _probe_client_lock:
        if _probe_client is None or _probe_client[0] != os.getpid():  # new after a fork
            client = httpx.Client(
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
            )
            _probe_client = (os.getpid(), client)
        return _probe_client[1]


def probe(url: str, *, timeout: float) -> Probe:
    """GET `url` once."""
    started = time.monotonic()
    try:
        response = _client().get(url, timeout=timeout)
    except httpx.TimeoutException:
        return Probe(url, None, None, f"no answer within {timeout:g} s", _ms(started))
    except httpx.HTTPError as exc:
        return Probe(url, None, None, _reason(exc), _ms(started))
    try:
        body = response.json()
    except ValueError:
        body = None
    return Probe(url, response.status_code, body, "", _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "Connection refused" in text or "connect" in type(exc).__name__.lower():
        return "connection refused"
    return text[:200]


@dataclass(frozen=True)
class WebhookAnswer:
    status: int | None
    text: str
    error: str
    message_id: str
    # The answer's Retry-After header as sent (seconds or an HTTP date), or "".
    retry_after: str = ""


def webhook_post(
    url: str,
    *,
    payload: dict,
    secret: str,
    timeout: float = 30,
    message_id: str | None = None,
    also_sign_with: tuple[str, ...] = (),
) -> WebhookAnswer:
    """POST `payload` as JSON, signed as the Standard Webhooks specification says:
    `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
    id.timestamp.body>` with the `whsec_` secret.

    `message_id`: the same id on every retry of one message (receivers drop duplicates by
    it); a new one if None. `also_sign_with`: more secrets (a rotation's previous one), each
    adding a signature, space-separated as the specification allows."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    signature = " ".join(
        Webhook(key).sign(message_id, now, body) for key in (secret, *also_sign_with)
    )
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    try:
        response = httpx.post(
            url, content=body.encode(), headers=headers, timeout=timeout, follow_redirects=False
        )
    except httpx.TimeoutException:
        return WebhookAnswer(None, "", f"no answer within {timeout:g} s", message_id)
    except httpx.HTTPError as exc:
        return WebhookAnswer(None, "", _reason(exc), message_id)
    return WebhookAnswer(
        response.status_code,
        response.text[:2000],
        "",
        message_id,
        response.headers.get("retry-after", ""),
    )
