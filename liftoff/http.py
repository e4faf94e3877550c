"""HTTP to the outside, written once: health probes and signed webhook POSTs (httpx).

Nothing here follows redirects (a health endpoint that redirects answers what it
answers), and every call has a timeout: a deployer or a service that hangs ends a step
with a reason, never a worker stuck.
"""

import ipaddress
import json
import os
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpcore
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
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return f"TLS: {text}"[:200]  # a bad certificate is not a refused connection
    if "Connection refused" in text or "connect" in type(exc).__name__.lower():
        return "connection refused"
    return text[:200]


# --- Connections to checked addresses only -------------------------------------------------
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Why an address must not be connected to ("" when it may be): the caller's policy (the
# notifications' SSRF guard refuses loopback, link-local, cloud metadata, reserved).
AddressPolicy = Callable[[IPAddress], str]


class AddressRefused(Exception):
    """The host resolved to an address the policy refuses: nothing was sent."""


def _ip(text: str) -> IPAddress:
    address = ipaddress.ip_address(text.split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


class _CheckedBackend(httpcore.SyncBackend):
    """httpcore's network backend, resolving each host once when the connection is made,
    checking every address the resolver gave, and connecting to those addresses only.

    Checking a name and then letting the client resolve it again for the connection lets
    a resolver answer a public address to the check and 169.254.169.254 to the connection
    (DNS rebinding). Here the check and the connection use the same answer. The URL is
    untouched, so the Host header, TLS's SNI and the certificate's check still use the
    host name."""

    def __init__(self, policy: AddressPolicy):
        super().__init__()
        self._policy = policy

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"the host {host} does not resolve") from exc
        for info in infos:
            problem = self._policy(_ip(info[4][0]))
            if problem:
                raise AddressRefused(f"The host {host} resolves to {problem} ({info[4][0]}).")
        last: Exception | None = None
        for info in dict.fromkeys(info[4][0] for info in infos):
            try:
                # An address literal: create_connection does no lookup of its own.
                return super().connect_tcp(info, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last or httpcore.ConnectError(f"the host {host} has no address")


def _ssl_context(ca_file: str) -> ssl.SSLContext:
    """Certificates checked against `ca_file` (PEM), or the public CAs (certifi)."""
    if ca_file:
        return ssl.create_default_context(cafile=ca_file)
    return httpx.create_ssl_context(trust_env=False)


def _checked_transport(policy: AddressPolicy, ca_file: str) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx 0.28 takes no network backend: the same pool as its own, with ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=_ssl_context(ca_file),
        max_connections=None,
        max_keepalive_connections=0,
        network_backend=_CheckedBackend(policy),
    )
    return transport


# The webhooks' clients, one per process and policy (made again after a fork), shared by
# a worker's threads: building a client builds an SSL context (tens of ms of CPU), which
# `httpx.post` paid on every delivery. Each POST still opens its own connection (none
# kept: a connection is checked when it is made, and a receiver is asked as it is now,
# as the probes do). No proxy from the environment (a proxy would
# resolve the name itself, past the check), no cookies kept (one receiver's cookie must
# not reach another).
_webhook_clients: dict[tuple[int, AddressPolicy | None, str], httpx.Client] = {}
_webhook_clients_lock = threading.Lock()


def _webhook_client(policy: AddressPolicy | None, ca_file: str = "") -> httpx.Client:
    key = (os.getpid(), policy, ca_file)
    with _webhook_clients_lock:
        client = _webhook_clients.get(key)
        if client is None:
            for old in [k for k in _webhook_clients if k[0] != os.getpid()]:
                del _webhook_clients[old]
            client = httpx.Client(
                transport=_checked_transport(policy, ca_file) if policy else None,
                verify=_ssl_context(ca_file),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
                trust_env=False,
                follow_redirects=False,
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            )
            _webhook_clients[key] = client
        return client


@dataclass(frozen=True)
class WebhookAnswer:
    status: int | None
    text: str
    error: str
    message_id: str
    # The answer's Retry-After header as sent (seconds or an HTTP date), or "".
    retry_after: str = ""
    # The host resolved to an address `refuse` refused when connecting: nothing was sent.
    refused: bool = False
    # No answer within the timeout (it may have been received: the answer did not come).
    timed_out: bool = False


def webhook_post(
    url: str,
    *,
    payload: dict,
    secret: str,
    timeout: float = 30,
    message_id: str | None = None,
    also_sign_with: tuple[str, ...] = (),
    refuse: AddressPolicy | None = None,
    ca_file: str = "",
) -> WebhookAnswer:
    """POST `payload` as JSON, signed as the Standard Webhooks specification says:
    `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
    id.timestamp.body>` with the `whsec_` secret.

    `message_id`: the same id on every retry of one message (receivers drop duplicates by
    it); a new one if None. `also_sign_with`: more secrets (a rotation's previous one), each
    adding a signature, space-separated as the specification allows. `refuse`: the
    addresses not to connect to, checked on the very addresses connected to
    (`_CheckedBackend`); a refused one answers `refused`. `ca_file`: the CAs (PEM) an
    https receiver's certificate is checked against, instead of the public ones; either
    way it is checked for the URL's host name, which is also the TLS SNI."""
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
        response = _webhook_client(refuse, ca_file).post(
            url, content=body.encode(), headers=headers, timeout=timeout
        )
    except AddressRefused as exc:
        return WebhookAnswer(None, "", str(exc), message_id, refused=True)
    except httpx.TimeoutException:
        return WebhookAnswer(
            None, "", f"no answer within {timeout:g} s", message_id, timed_out=True
        )
    except httpx.HTTPError as exc:
        return WebhookAnswer(None, "", _reason(exc), message_id)
    return WebhookAnswer(
        response.status_code,
        response.text[:2000],
        "",
        message_id,
        response.headers.get("retry-after", ""),
    )
