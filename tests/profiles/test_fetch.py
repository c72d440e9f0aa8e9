"""The SSRF guard and the download limits of ``profiles.fetch``, against a real HTTP server on 127.0.0.1.

No test sends a packet to anything but loopback: inside ``profiles.fetch`` the ``socket`` module is replaced (see
``FakeNet`` in tests/support/web.py, beside the server) by one that answers DNS from a table and lets only loopback
connections through, recording and refusing any other; addresses that must be refused (10.x, 169.254.169.254, …) are
therefore never contacted, even by a broken guard.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

import profiles.fetch as fetch_module
from profiles.fetch import (
    BlockedAddress,
    FetchError,
    TransientFetchError,
    address_allowed,
    fetch,
    fetch_image,
    fetch_json,
)
from tests.support.web import IMAGE, REDIRECT_BODY, FakeNet, WebServer

# -- the server --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    srv = WebServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.stopping.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def defaults(settings, server):
    settings.PHOTOSEARCH_ALLOW_PRIVATE_URLS = False
    settings.PHOTOSEARCH_MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
    settings.PHOTOSEARCH_FETCH_TIMEOUT = 10.0
    server.hits.clear()
    server.connections = 0


@pytest.fixture
def private_allowed(settings):
    settings.PHOTOSEARCH_ALLOW_PRIVATE_URLS = True


# -- the network as profiles.fetch sees it --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def net(monkeypatch) -> FakeNet:
    fake = FakeNet()
    monkeypatch.setattr(fetch_module, "socket", fake)
    return fake


# -- address_allowed -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "2a00:1450:4001:80b::200e"])
def test_public_addresses_are_allowed(address):
    assert address_allowed(address) is True


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",  # loopback
        "127.1.2.3",
        "10.0.0.5",  # private
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # link-local: cloud metadata
        "100.64.0.1",  # CGNAT
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "255.255.255.255",
        "192.0.2.1",  # documentation
        "::1",
        "::",
        "::ffff:127.0.0.1",  # IPv4-mapped IPv6
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "fe80::1",  # link-local
        "fe80::1%eth0",
        "fd00::1",  # unique local
        "ff02::1",  # multicast
        "64:ff9b::a00:5",  # NAT64 of 10.0.0.5
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "::127.0.0.1",  # IPv4-compatible
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo whose client is 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address):
    assert address_allowed(address) is False


# -- refused before any connection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.jpg",
        "http://localhost.test/x.jpg",  # a name the test maps to 127.0.0.1
        "http://10.0.0.5/x.jpg",
        "http://192.168.0.10:8080/x.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/x.jpg",
        "http://0.0.0.0/x.jpg",
        "http://[::1]/x.jpg",
        "http://[::ffff:127.0.0.1]/x.jpg",
        "http://[fe80::1]/x.jpg",
        "https://10.1.2.3/x.jpg",
    ],
)
def test_non_public_urls_are_refused_without_connecting(net, url):
    net.answers["localhost.test"] = ["127.0.0.1"]

    with pytest.raises(BlockedAddress, match="non-public address.*PHOTOSEARCH_ALLOW_PRIVATE_URLS"):
        fetch_image(url)

    assert net.lookups == [urlsplit(url).hostname]
    assert net.connects == []


@pytest.mark.parametrize("answer", [["10.0.0.5"], ["127.0.0.1"], ["169.254.169.254"], ["::1"], ["fd12::1"]])
def test_a_name_whose_dns_answer_is_private_is_refused(net, answer):
    net.answers["evil.example"] = answer

    with pytest.raises(BlockedAddress, match=f"evil.example resolves to a non-public address \\({answer[0]}\\)"):
        fetch_image("https://evil.example/cat.jpg")

    assert net.connects == []


def test_a_name_with_one_private_answer_among_public_ones_is_refused(net):
    """All answers must be public: otherwise a retry on the next address could reach the private one."""
    net.answers["mixed.example"] = ["93.184.216.34", "10.0.0.5"]

    with pytest.raises(BlockedAddress, match="10.0.0.5"):
        fetch_image("http://mixed.example/cat.jpg")

    assert net.connects == []


def test_a_public_answer_is_connected_to_at_the_checked_address(net):
    """The guard connects to the address it checked (no second lookup); the fake network refuses, which is a
    transient error — and proves the connection went to the vetted address only."""
    net.answers["photos.example"] = ["93.184.216.34"]

    with pytest.raises(TransientFetchError, match="cannot connect to photos.example"):
        fetch_image("http://photos.example/cat.jpg")

    assert net.lookups == ["photos.example"]
    assert net.connects == [("93.184.216.34", 80)]


def test_the_real_loopback_server_is_never_reached_by_default(server):
    with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1"):
        fetch_image(server.url("/image.jpg"))

    assert server.connections == 0 and server.hits == []


@pytest.mark.parametrize(
    "url, reason",
    [
        ("file:///etc/passwd", "only http and https.*'file'"),
        ("ftp://ftp.example.com/a.jpg", "only http and https.*'ftp'"),
        ("gopher://example.com/", "only http and https"),
        ("/etc/passwd", "only http and https.*bare path"),
        ("http:///no-host.jpg", "no host"),
        ("http://user:secret@example.com/a.jpg", "credentials"),
    ],
)
def test_other_schemes_and_odd_urls_are_refused(net, url, reason):
    with pytest.raises(FetchError, match=reason):
        fetch_image(url)

    assert net.lookups == [] and net.connects == []


# -- allowed private addresses (a LAN photo server) ----------------------------------------------------------------


def test_with_private_urls_allowed_the_loopback_server_image_downloads(server, private_allowed):
    assert fetch_image(server.url("/image.jpg")) == IMAGE
    assert server.hits == ["/image.jpg"]


def test_octet_stream_is_accepted_as_an_image(server, private_allowed):
    assert fetch_image(server.url("/octet")) == IMAGE


def test_fetch_json_parses_and_fetch_returns_the_content_type(server, private_allowed):
    assert fetch_json(server.url("/json")) == {"stat": "ok", "n": 1}
    body, content_type = fetch(server.url("/html"))
    assert content_type == "text/html" and b"not a photo" in body


def test_fetch_json_refuses_a_body_that_is_not_json(server, private_allowed):
    with pytest.raises(FetchError, match="did not answer with JSON"):
        fetch_json(server.url("/html"))


# -- redirects -----------------------------------------------------------------------------------------------------


def test_a_redirect_is_followed(server, private_allowed):
    assert fetch_image(server.url("/redirect?to=/image.jpg")) == IMAGE
    assert server.hits == ["/redirect", "/image.jpg"]


def test_a_redirect_loop_stops(server, private_allowed):
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch_image(server.url("/loop"))
    assert server.hits == ["/loop"] * 6  # the first request and five redirects


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/a.jpg"])
def test_a_redirect_to_another_scheme_is_refused(server, private_allowed, target):
    with pytest.raises(FetchError, match="not http"):
        fetch_image(server.url(f"/redirect?to={target}"))


def test_a_public_first_hop_redirecting_to_loopback_is_refused(server, monkeypatch):
    """Each hop is checked on its own connection. No public server can be hosted here, so 127.0.0.1 plays the public
    first hop (the test's ``address_allowed`` vouches for exactly that address); it redirects to 127.0.0.2 — another
    loopback address, still refused — and the guard stops before opening a socket to it."""
    real = fetch_module.address_allowed
    monkeypatch.setattr(fetch_module, "address_allowed", lambda address: address == "127.0.0.1" or real(address))
    port = server.server_address[1]

    with pytest.raises(BlockedAddress, match=r"127\.0\.0\.2 resolves to a non-public address \(127\.0\.0\.2\)"):
        fetch_image(server.url(f"/redirect?to=http://127.0.0.2:{port}/image.jpg"))

    assert server.hits == ["/redirect"]


def test_a_redirect_to_a_name_resolving_to_the_metadata_address_is_refused(server, monkeypatch, net):
    """Same idea with DNS in the loop: the redirect names a host whose answer is 169.254.169.254."""
    real = fetch_module.address_allowed
    monkeypatch.setattr(fetch_module, "address_allowed", lambda address: address == "127.0.0.1" or real(address))
    net.answers["metadata.example"] = ["169.254.169.254"]

    with pytest.raises(BlockedAddress, match="metadata.example resolves to a non-public address"):
        fetch_image(server.url("/redirect?to=http://metadata.example/latest/meta-data/"))

    assert net.lookups == ["127.0.0.1", "metadata.example"]
    assert net.connects == []
    assert server.hits == ["/redirect"]


# -- limits --------------------------------------------------------------------------------------------------------


def test_a_declared_size_over_the_cap_is_refused_before_reading(server, private_allowed, settings):
    settings.PHOTOSEARCH_MAX_DOWNLOAD_BYTES = 100_000

    with pytest.raises(FetchError, match=r"too large \(5,000,000 bytes, limit 100,000\)"):
        fetch_image(server.url("/huge-declared"))


def test_a_streamed_body_over_the_cap_is_cut_off(server, private_allowed, settings):
    settings.PHOTOSEARCH_MAX_DOWNLOAD_BYTES = 100_000

    with pytest.raises(FetchError, match=r"too large \(over 100,000 bytes\)"):
        fetch_image(server.url("/huge-streamed"))


def test_a_body_of_exactly_the_cap_is_fine(server, private_allowed, settings):
    settings.PHOTOSEARCH_MAX_DOWNLOAD_BYTES = len(IMAGE)
    assert fetch_image(server.url("/image.jpg")) == IMAGE


def test_a_redirect_body_is_not_read_past_the_cap(server, private_allowed, settings):
    settings.PHOTOSEARCH_MAX_DOWNLOAD_BYTES = 100_000
    server.redirect_body_sent = 0
    server.redirect_done.clear()

    assert fetch_image(server.url("/redirect-with-big-body")) == IMAGE
    assert server.redirect_done.wait(5)  # the handler ends when the client has read it all or hung up
    assert server.redirect_body_sent < REDIRECT_BODY // 2


def test_a_wrong_content_type_is_not_an_image(server, private_allowed):
    with pytest.raises(FetchError, match=r"not an image \(content type text/html\)"):
        fetch_image(server.url("/html"))


def test_a_slow_server_times_out(server, private_allowed, settings):
    settings.PHOTOSEARCH_FETCH_TIMEOUT = 1
    started = time.monotonic()

    with pytest.raises(TransientFetchError, match="network error"):
        fetch_image(server.url("/slow"))

    assert time.monotonic() - started < 2.5


def test_a_closed_port_is_a_transient_error(private_allowed):
    with socket.socket() as probe:  # a port nobody listens on: bind, note it, close
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(TransientFetchError, match=f"cannot connect to 127.0.0.1:{port}"):
        fetch_image(f"http://127.0.0.1:{port}/x.jpg")


@pytest.mark.parametrize("status", [500, 429])
def test_server_errors_and_rate_limits_are_transient(server, private_allowed, status):
    with pytest.raises(TransientFetchError, match=f"HTTP {status} from 127.0.0.1") as caught:
        fetch_image(server.url(f"/status/{status}"))

    assert caught.value.retry_after == (7.0 if status == 429 else None)


def test_not_found_is_a_plain_fetch_error(server, private_allowed):
    with pytest.raises(FetchError, match="HTTP 404 from 127.0.0.1") as caught:
        fetch_image(server.url("/status/404"))

    assert not isinstance(caught.value, TransientFetchError)
