"""A real HTTP server on 127.0.0.1 with the answers the download tests need (images, redirects, oversized and slow
bodies, error statuses), and ``FakeNet``, a stand-in for ``socket`` inside ``profiles.fetch`` that answers DNS from a
table and lets only loopback connections through. Shared by tests/profiles/test_fetch.py and the hardening tests (not
a test module)."""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.conftest import image_bytes

IMAGE = image_bytes(7)
HUGE = 5_000_000
REDIRECT_BODY = 16 * 1024 * 1024  # far more than socket buffers absorb: what is sent is about what the client read


class _Handler(BaseHTTPRequestHandler):
    server: WebServer

    def log_message(self, format, *args):  # keep the test output clean
        pass

    def do_GET(self):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        self.server.hits.append(parts.path)
        route = getattr(
            self, "route_" + parts.path.strip("/").replace("-", "_").replace("/", "_").replace(".", "_"), None
        )
        try:
            if route is None:
                self._send(404, b"no such page", "text/plain")
            else:
                route(query)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (size cap, timeout)

    def _send(self, status, body=b"", content_type="text/plain", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def route_image_jpg(self, query):
        self._send(200, IMAGE, "image/jpeg")

    def route_octet(self, query):
        self._send(200, IMAGE, "application/octet-stream")

    def route_json(self, query):
        self._send(200, b'{"stat": "ok", "n": 1}', "application/json")

    def route_html(self, query):
        self._send(200, b"<html><body>not a photo</body></html>", "text/html; charset=utf-8")

    def route_redirect(self, query):
        self._send(302, b"", headers=[("Location", query["to"][0])])

    def route_loop(self, query):
        self._send(302, b"", headers=[("Location", "/loop")])

    def route_redirect_with_big_body(self, query):
        """A redirect whose body is far larger than any download limit: nobody needs to read it."""
        self.send_response(302)
        self.send_header("Location", "/image.jpg")
        self.send_header("Content-Length", str(REDIRECT_BODY))
        self.end_headers()
        chunk = b"x" * 65536
        try:
            while self.server.redirect_body_sent < REDIRECT_BODY:
                self.wfile.write(chunk)
                self.server.redirect_body_sent += len(chunk)
        finally:
            self.server.redirect_done.set()

    def route_huge_declared(self, query):
        """Declares a size over the cap (and sends only a little of it)."""
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(HUGE))
        self.end_headers()
        self.wfile.write(IMAGE[:1000])

    def route_huge_streamed(self, query):
        """No Content-Length: the body ends when the connection closes (HTTP/1.0), and it is large."""
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.end_headers()
        chunk = b"\0" * 65536
        for _ in range(HUGE // len(chunk)):
            self.wfile.write(chunk)

    def route_slow(self, query):
        self.server.stopping.wait(3)  # longer than the 1 s timeout of the test; ends at once on teardown
        self._send(200, IMAGE, "image/jpeg")

    def route_status_404(self, query):
        self._send(404, b"gone")

    def route_status_500(self, query):
        self._send(500, b"oops")

    def route_status_429(self, query):
        self._send(429, b"slow down", headers=[("Retry-After", "7")])


class WebServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: list[str] = []
        self.connections = 0
        self.redirect_body_sent = 0
        self.redirect_done = threading.Event()
        self.stopping = threading.Event()

    def verify_request(self, request, client_address):
        self.connections += 1
        return True

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class FakeNet:
    """Stands in for ``socket`` inside ``profiles.fetch`` only, in every test of this module.

    DNS: names in ``answers`` get those addresses, IP literals answer themselves, other names do not resolve (no DNS
    query ever leaves either). Connections: loopback ones are real; any other is recorded in ``connects``
    and refused, so no packet ever leaves the machine, whatever the guard does."""

    SOCK_STREAM = socket.SOCK_STREAM
    gaierror = socket.gaierror

    def __init__(self):
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []
        self.connects: list[tuple] = []

    def getaddrinfo(self, host, port, type=0, **kwargs):
        self.lookups.append(host)
        if host not in self.answers:
            try:
                ipaddress.ip_address(host.split("%", 1)[0])
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME, "test network: no DNS here") from None
            return socket.getaddrinfo(host, port, type=type, **kwargs)  # an IP literal: no DNS query
        infos = []
        for address in self.answers[host]:
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return infos

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM, *args):
        net = self

        class _LoopbackOnly(socket.socket):
            def connect(self, sockaddr):
                ip = ipaddress.ip_address(sockaddr[0])
                if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                    ip = ip.ipv4_mapped
                if not ip.is_loopback:
                    net.connects.append(sockaddr)
                    raise ConnectionRefusedError("test network: only loopback is reachable")
                return super().connect(sockaddr)

        return _LoopbackOnly(family, type, *args)
