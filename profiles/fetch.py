"""The one HTTP client for the internet, SSRF-safe: http(s) only; each connection and redirect connects to the address
it checked is public (unless ``PHOTOSEARCH_ALLOW_PRIVATE_URLS``). Bodies are size-capped and time-bounded."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

USER_AGENT = "photosearch/1.0 (+https://github.com/photosearch)"
MAX_REDIRECTS = 5
IMAGE_CONTENT_TYPES = ("image/", "application/octet-stream", "binary/octet-stream")


class FetchError(Exception):
    """This URL cannot be fetched (refused address, bad scheme, too large, not an image, HTTP 4xx…)."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status  # the HTTP status, when the server answered


class BlockedAddress(FetchError):
    """The URL points at (or redirects to) an address we never fetch from."""


class TransientFetchError(FetchError):
    """Timeout, connection failure, HTTP 429 or 5xx: the same request may succeed later."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message, status=status)
        self.retry_after = retry_after


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def address_allowed(address: str) -> bool:
    """Whether ``address`` (an IP literal) is a public internet address. IPv6 forms that carry an IPv4 address
    (mapped, compatible, NAT64, 6to4, Teredo) are judged by the IPv4 address they reach."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and (ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1)):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not address_allowed(str(embedded)):
            return False
    return ip.is_global and not ip.is_multicast


def _resolve_checked(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransientFetchError(f"cannot resolve {host} ({exc.strerror})") from None
    if settings.PHOTOSEARCH_ALLOW_PRIVATE_URLS:
        return [(family, sockaddr) for family, _, _, _, sockaddr in infos]
    # An inet address's first part is its host (a str); only AF_UNIX-like families put anything else there
    allowed: list[tuple[int, tuple[Any, ...]]] = [
        (family, sockaddr) for family, _, _, _, sockaddr in infos if address_allowed(str(sockaddr[0]))
    ]
    if not allowed or len(allowed) != len(infos):
        refused = sorted({str(sockaddr[0]) for *_, sockaddr in infos if not address_allowed(str(sockaddr[0]))})
        raise BlockedAddress(
            f"{host} resolves to a non-public address ({', '.join(refused)}); "
            f"set PHOTOSEARCH_ALLOW_PRIVATE_URLS=true to allow it"
        )
    return allowed


class _GuardedConnectionMixin:
    def _new_conn(self):
        last_error: OSError | None = None
        for family, sockaddr in _resolve_checked(self._dns_host, self.port):
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                if isinstance(self.timeout, (int, float)):
                    sock.settimeout(self.timeout)
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                last_error = exc
        raise TransientFetchError(f"cannot connect to {self._dns_host}:{self.port} ({last_error})")


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPConnectionPool,
            "https": _GuardedHTTPSConnectionPool,
        }


def _drop_redirect_body(response: requests.Response, **kwargs) -> requests.Response:
    """Close a redirect's connection unread: requests would read its whole body, uncapped."""
    if response.is_redirect:
        response.raw.close()
    return response


_local = threading.local()


def _session() -> requests.Session:
    """One pooled session per thread (requests sessions are not thread-safe)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no environment proxies: they would bypass the address check
        session.max_redirects = MAX_REDIRECTS
        session.headers["User-Agent"] = USER_AGENT
        session.hooks["response"].append(_drop_redirect_body)
        adapter = _GuardedAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session = session
    return session


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be fetched, not {parts.scheme or 'a bare path'!r}")
    if not parts.hostname:
        raise FetchError("the URL has no host")
    if parts.username or parts.password:
        raise FetchError("URLs with credentials are not fetched")


def fetch(
    url: str,
    *,
    params: dict | None = None,
    max_bytes: int | None = None,
    content_types: tuple[str, ...] | None = None,
    timeout: float | None = None,
) -> tuple[bytes, str]:
    """GET ``url``; return (body, content type). Raises ``FetchError`` (or ``TransientFetchError``) with a reason."""
    _check_url(url)
    max_bytes = max_bytes or settings.PHOTOSEARCH_MAX_DOWNLOAD_BYTES
    timeout = timeout or settings.PHOTOSEARCH_FETCH_TIMEOUT
    try:
        response = _session().get(url, params=params, stream=True, timeout=(min(timeout, 10), timeout))
    except FetchError:
        raise
    except requests.exceptions.TooManyRedirects:
        raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
    except requests.exceptions.InvalidSchema as exc:
        raise FetchError(f"redirect to a URL that is not http(s) ({exc})") from None
    except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
        inner = _inner_fetch_error(exc)
        if inner is not None:
            raise inner from None
        raise TransientFetchError(f"network error ({type(exc).__name__})") from None
    except requests.exceptions.RequestException as exc:
        inner = _inner_fetch_error(exc)
        if inner is not None:
            raise inner from None
        raise FetchError(f"request failed ({exc})") from None
    with response:
        for hop in [*response.history, response]:
            _check_url(hop.url)
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = response.headers.get("Retry-After")
            raise TransientFetchError(
                f"HTTP {response.status_code} from {urlsplit(response.url).hostname}",
                status=response.status_code,
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        if response.status_code >= 400:
            raise FetchError(
                f"HTTP {response.status_code} from {urlsplit(response.url).hostname}", status=response.status_code
            )
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_types is not None and not content_type.startswith(content_types):
            raise FetchError(f"not an image (content type {content_type or 'missing'})")
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(f"too large ({int(declared):,} bytes, limit {max_bytes:,})")
        body = bytearray()
        deadline = time.monotonic() + timeout  # the socket timeout is per read; this bounds the whole download
        try:
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"too large (over {max_bytes:,} bytes)")
                if time.monotonic() > deadline:
                    raise TransientFetchError(f"download too slow (over {timeout:g} s)")
        except requests.exceptions.RequestException as exc:
            raise TransientFetchError(f"download interrupted ({type(exc).__name__})") from None
        return bytes(body), content_type


def fetch_image(url: str) -> bytes:
    """Download an image: SSRF-safe, size-capped, content type image/* (or octet-stream, left to Pillow)."""
    body, _ = fetch(url, content_types=IMAGE_CONTENT_TYPES)
    return body


def fetch_json(url: str, *, params: dict | None = None) -> dict:
    body, _ = fetch(url, params=params, max_bytes=16 * 1024 * 1024)
    try:
        return json.loads(body)
    except ValueError:
        raise FetchError(f"{urlsplit(url).hostname} did not answer with JSON") from None


def _inner_fetch_error(exc: BaseException | None) -> FetchError | None:
    """Our guard raises inside urllib3; requests wraps it. Dig it out so the caller sees our reason."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, FetchError):
            return exc
        for arg in getattr(exc, "args", ()):
            if isinstance(arg, BaseException):
                found = _inner_fetch_error(arg)
                if found is not None:
                    return found
            reason = getattr(arg, "reason", None)
            if isinstance(reason, BaseException):
                found = _inner_fetch_error(reason)
                if found is not None:
                    return found
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "reason", None)
    return None
