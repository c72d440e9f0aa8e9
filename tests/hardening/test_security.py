"""Who may do what, what the server refuses to fetch or accept, and a deployment check that passes.

Real HTTP where the transport matters (CSRF, body sizes), Django's test client elsewhere; the real database always.
DNS answers and "public" hosts are the only things stood in for (tests/support/web.py's loopback-only
network); everything else is the real code path, from the API request to the import job's report.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

import profiles.fetch as fetch_module
from profiles.models import ImportJob, Photo, Profile
from tests.conftest import image_bytes
from tests.hardening.conftest import ROOT
from tests.support.api import multipart
from tests.support.web import FakeNet, WebServer

pytestmark = pytest.mark.django_db(transaction=True)


def _auth(token: str | None) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}


# --- Writes need a staff token; the admin needs a staff user -------------------------------------------------------


@pytest.mark.parametrize("who, status", [(None, 401), ("bad-token", 401), ("reader", 403), ("staff", 201)])
def test_creating_a_profile_needs_a_staff_token(client, tokens, photo_folder, who, status):
    folder = photo_folder({"a.jpg": 1})
    token = tokens.get(who, who)

    response = client.post(
        "/api/v1/profiles/",
        {"source_kind": "folder", "handle": "trip", "options": {"path": str(folder)}},
        content_type="application/json",
        **_auth(token),
    )

    assert response.status_code == status, response.content
    assert Profile.objects.filter(handle="trip").exists() == (status == 201)
    if status != 201:
        assert set(response.json()) == {"error", "details"}


@pytest.mark.parametrize("who, status", [(None, 401), ("reader", 403), ("staff", 202)])
def test_starting_an_import_needs_a_staff_token(client, tokens, photo_folder, who, status):
    from profiles.services.imports import folder_import

    job = folder_import(path=photo_folder({"a.jpg": 1}), profile_name="trip")
    jobs_before = ImportJob.objects.count()

    response = client.post(
        f"/api/v1/profiles/{job.profile_id}/imports/", {}, content_type="application/json", **_auth(tokens.get(who))
    )

    assert response.status_code == status, response.content
    assert ImportJob.objects.count() == jobs_before + (status == 202)


@pytest.mark.parametrize("who, can_enter", [(None, False), ("reader", False), ("staff", True)])
def test_the_admin_is_for_staff_only(client, django_user_model, tokens, who, can_enter):
    if who:
        client.force_login(django_user_model.objects.get(username=who))

    response = client.get("/admin/")

    if can_enter:
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_an_api_token_does_not_open_the_admin(client, tokens):
    response = client.get("/admin/", **_auth(tokens["staff"]))

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


# --- CSRF on every form ------------------------------------------------------------------------------------------


def test_forms_refuse_a_post_without_the_csrf_token(django_user_model):
    from django.test import Client

    staff = django_user_model.objects.create_user("boss", password="pw", is_staff=True, is_superuser=True)
    browser = Client(enforce_csrf_checks=True)
    body, form_type = multipart({}, {"image": ("q.jpg", "image/jpeg", image_bytes(1))})

    assert browser.post("/search/image/", body, content_type=form_type).status_code == 403
    assert browser.post("/admin/login/", {"username": "boss", "password": "pw"}).status_code == 403
    browser.force_login(staff)
    assert browser.post("/admin/profiles/profile/add/", {"handle": "x", "source_kind": "folder"}).status_code == 403
    # The admin's logged-in session on the API: DRF checks CSRF for session users (token clients need none).
    refused = browser.post(
        "/api/v1/profiles/", {"source_kind": "folder", "handle": "x"}, content_type="application/json"
    )
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    assert not Profile.objects.exists()


def test_the_search_by_image_form_works_with_its_csrf_token():
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    body, form_type = multipart({"csrfmiddlewaretoken": token}, {"image": ("q.jpg", "image/jpeg", image_bytes(1))})

    assert browser.post("/search/image/", body, content_type=form_type).status_code == 200


# --- URL imports never reach the machine's own network ---------------------------------------------------------------


@pytest.fixture
def web():
    """A real HTTP server on 127.0.0.1 (tests/support/web.py), counting every request it gets."""
    server = WebServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.stopping.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def net(monkeypatch) -> FakeNet:
    """DNS as profiles.fetch sees it: names answer what the test says; nothing but loopback can be connected to."""
    fake = FakeNet()
    monkeypatch.setattr(fetch_module, "socket", fake)
    return fake


REFUSED = [
    "http://127.0.0.1:{port}/image.jpg",
    "http://localhost:{port}/image.jpg",
    "http://[::1]:{port}/image.jpg",
    "http://10.0.0.5/a.jpg",
    "http://172.16.3.4/a.jpg",
    "http://192.168.1.10/a.jpg",
    "http://100.64.0.1/a.jpg",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00::1]/a.jpg",
    "http://[fd00:ec2::254]/latest/",
    "http://[fe80::1]/a.jpg",
    "http://[::ffff:127.0.0.1]:{port}/image.jpg",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://0.0.0.0:{port}/image.jpg",
    "http://2130706433:{port}/image.jpg",
    "http://0x7f.1:{port}/image.jpg",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://private.example/a.jpg",
    "http://mixed.example/a.jpg",
    "http://rebind.example:{port}/image.jpg",
]


def test_a_url_import_refuses_every_private_loopback_link_local_and_metadata_address(
    client, tokens, web, net, tmp_path, monkeypatch
):
    """A URL list full of internal addresses, literal or behind DNS answers, imported through the API by a staff
    user: every one is skipped with the reason, nothing is stored, and not one connection is opened to any of them
    (the loopback server, playing the internal service, counts zero requests)."""
    port = web.server_address[1]
    net.answers.update(
        {
            "metadata.google.internal": ["169.254.169.254"],
            "private.example": ["10.1.2.3"],
            "mixed.example": ["93.184.215.14", "192.168.0.7"],
            "rebind.example": ["127.0.0.1"],
            "localhost": ["127.0.0.1"],
            # What the C library answers for these spellings of 127.0.0.1 (never a DNS query).
            "2130706433": ["127.0.0.1"],
            "0x7f.1": ["127.0.0.1"],
        }
    )
    urls = [url.format(port=port) for url in REFUSED]
    listing = tmp_path / "urls.json"
    listing.write_text(json.dumps(urls))

    response = client.post(
        "/api/v1/profiles/",
        {"source_kind": "urls", "handle": "evil", "options": {"file": str(listing)}},
        content_type="application/json",
        **_auth(tokens["staff"]),
    )

    assert response.status_code == 201, response.content
    job = response.json()["job"]
    assert job["status"] == "succeeded" and job["imported"] == 0
    assert job["skipped"] + job["failed"] == len(urls)
    reasons = {problem["source_id"]: problem["reason"] for problem in job["problems"]}
    for url in urls:
        assert "non-public address" in reasons[url], (url, reasons[url])
    assert web.hits == [] and web.connections == 0
    assert net.connects == []
    assert not Photo.objects.exists()


def test_a_url_import_refuses_a_redirect_from_a_public_host_to_the_metadata_address(
    client, tokens, web, net, tmp_path, monkeypatch
):
    """127.0.0.1 plays a public image host (the test vouches for exactly that address); its redirects to internal
    addresses, literal and by DNS answer, are refused before any connection to them."""
    real = fetch_module.address_allowed
    monkeypatch.setattr(fetch_module, "address_allowed", lambda address: address == "127.0.0.1" or real(address))
    net.answers["instance-data.example"] = ["169.254.169.254"]
    port = web.server_address[1]
    targets = [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://instance-data.example/latest/",
        f"http://127.0.0.2:{port}/image.jpg",
        "http://[fd00::1]/x",
    ]
    urls = [web.url(f"/redirect?to={target}") for target in targets] + [web.url("/image.jpg")]
    listing = tmp_path / "urls.json"
    listing.write_text(json.dumps(urls))

    response = client.post(
        "/api/v1/profiles/",
        {"source_kind": "urls", "handle": "hops", "options": {"file": str(listing)}},
        content_type="application/json",
        **_auth(tokens["staff"]),
    )

    job = response.json()["job"]
    assert (job["imported"], job["skipped"] + job["failed"]) == (1, 4), job
    assert all("non-public address" in problem["reason"] for problem in job["problems"])
    assert web.hits == ["/redirect"] * 4 + ["/image.jpg"]  # each first hop, never a redirect target
    assert net.connects == []
    assert Photo.objects.count() == 1


def test_a_download_over_the_size_cap_is_refused_and_nothing_is_stored(client, tokens, web, tmp_path, settings):
    settings.PHOTOSEARCH_ALLOW_PRIVATE_URLS = True  # the loopback server is the image host here
    settings.PHOTOSEARCH_MAX_DOWNLOAD_BYTES = 2048
    listing = tmp_path / "urls.txt"
    listing.write_text(
        "\n".join([web.url("/huge-declared"), web.url("/huge-streamed"), web.url("/image.jpg"), web.url("/html")])
    )

    response = client.post(
        "/api/v1/profiles/",
        {"source_kind": "urls", "handle": "big", "options": {"file": str(listing)}},
        content_type="application/json",
        **_auth(tokens["staff"]),
    )

    job = response.json()["job"]
    assert (job["imported"], job["skipped"]) == (0, 4), job
    reasons = " | ".join(problem["reason"] for problem in job["problems"])
    assert reasons.count("too large") == 3 and "not an image" in reasons
    assert not Photo.objects.exists()
    assert not list((Path(settings.MEDIA_ROOT) / "thumbnails").rglob("*.jpg"))


# --- Upload caps, before the body is read --------------------------------------------------------------------------


def _raw_post(live_server, path: str, declared: int, sent: bytes, content_type: str) -> tuple[int, bytes]:
    """POST declaring ``declared`` body bytes but sending only ``sent``: a server that reads the body before
    refusing would wait for the rest (and time out here); one that refuses first answers at once."""
    host, port = live_server.thread.host, live_server.thread.port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {declared}\r\n\r\n".encode()
            + sent
        )
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
                sock.settimeout(1)  # the answer has come; the dev server then waits to drain the body, so stop
        except TimeoutError:
            if not data:
                pytest.fail(f"the server waited for the body of {path} instead of refusing it")
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "path, kind",
    [
        ("/search/image/", "html"),
        ("/api/v1/search/by-image/", "json"),
        ("/api/v1/profiles/", "json"),
        ("/admin/login/", "html"),
    ],
)
def test_an_oversized_body_is_refused_before_it_is_read(live_server, path, kind):
    declared = 10 * 1024**3  # 10 GiB announced, a few bytes sent

    status, body = _raw_post(live_server, path, declared, b"--x\r\n", "multipart/form-data; boundary=x")

    assert status == 413
    if kind == "json":
        error = json.loads(body)
        assert error["error"].startswith("image: The upload is larger than 20,971,520 bytes")
    else:
        assert b"The upload is larger than 20,971,520 bytes." in body


def test_an_upload_just_over_the_cap_is_refused_with_the_reason(client, settings):
    settings.PHOTOSEARCH_MAX_UPLOAD_BYTES = 200_000
    out = io.BytesIO()
    Image.frombytes("RGB", (270, 270), random.Random(3).randbytes(270 * 270 * 3)).save(out, format="PNG")
    big = out.getvalue()  # noise does not compress
    assert 200_000 < len(big) < 200_000 + 64 * 1024, len(big)  # passes the body cap, caught by the views' own
    body, form_type = multipart({}, {"image": ("big.png", "image/png", big)})

    page = client.post("/search/image/", body, content_type=form_type)
    api = client.post("/api/v1/search/by-image/", body, content_type=form_type)

    assert page.status_code == 400 and "is too large" in page.content.decode()
    assert api.status_code == 413 and api.json()["details"]["max_bytes"] == 200_000


# --- Deployment ----------------------------------------------------------------------------------------------------

# The production environment documented in docs/reliability.md.
PRODUCTION_ENV = {
    "DJANGO_ALLOWED_HOSTS": "photos.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://photos.example.com",
    "PHOTOSEARCH_DEBUG": "false",
    "PHOTOSEARCH_HTTPS": "true",
    "PHOTOSEARCH_HSTS_INCLUDE_SUBDOMAINS": "true",
    "PHOTOSEARCH_HSTS_PRELOAD": "true",
    "PHOTOSEARCH_TRUST_X_FORWARDED_PROTO": "true",
}


def _manage(args: list[str], env: dict[str, str], data_dir: Path) -> subprocess.CompletedProcess:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(data_dir),
        "LANG": "C.UTF-8",
        "PHOTOSEARCH_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "photosearch.settings",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_under_the_documented_production_environment(tmp_path):
    env = {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}

    clean = _manage(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    bare = _manage(["check", "--deploy"], {}, tmp_path)

    assert clean.returncode == 0, clean.stderr + clean.stdout
    assert "no issues" in clean.stdout
    # Without it the same check names what is missing: the test can fail.
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= set(
        re.findall(r"security\.W\d+", bare.stderr + bare.stdout)
    )


def test_production_pages_redirect_to_https_and_send_hsts(tmp_path):
    env = {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    probe = (
        "import django; django.setup(); from django.test import Client; c = Client();"
        "r = c.get('/api/schema/', HTTP_HOST='photos.example.com'); print(r.status_code, r['Location']);"
        "r = c.get('/api/schema/', HTTP_HOST='photos.example.com', HTTP_X_FORWARDED_PROTO='https');"
        "print(r.status_code, r['Strict-Transport-Security']);"
        "print(c.get('/api/schema/', HTTP_HOST='evil.example').status_code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            **env,
            "PHOTOSEARCH_DATA_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "photosearch.settings",
        },
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[0] == "301 https://photos.example.com/api/schema/"
    assert lines[1] == "200 max-age=31536000; includeSubDomains; preload"
    assert lines[2] == "400"  # a Host not in DJANGO_ALLOWED_HOSTS


def test_secrets_come_from_the_environment_only(tmp_path):
    """Settings take secrets from the environment; without one, a random key is made per installation (never a
    constant in the code); no tracked file holds a secret-looking assignment; .env is never committed."""
    probe = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.SECRET_KEY); print(s.FLICKR_API_KEY); print(s.DATABASE_URL)"
    )

    def run(env: dict, data_dir: Path) -> list[str]:
        data_dir.mkdir(exist_ok=True)
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env={
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(data_dir),
                **env,
                "PHOTOSEARCH_DATA_DIR": str(data_dir),
                "DJANGO_SETTINGS_MODULE": "photosearch.settings",
            },
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.split("\n")[:3]

    given = run(
        {"DJANGO_SECRET_KEY": "k" * 60, "FLICKR_API_KEY": "fk", "DATABASE_URL": "postgres://u:pw@db/x"}, tmp_path / "a"
    )
    first, second = run({}, tmp_path / "b"), run({}, tmp_path / "c")

    assert given == ["k" * 60, "fk", "postgres://u:pw@db/x"]
    assert first[0] != second[0] and len(first[0]) >= 50  # generated per data dir, not a constant
    assert first[1:] == ["", ""]
    assert oct((tmp_path / "b" / "secret_key").stat().st_mode & 0o777) == "0o600"

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert ".env" not in tracked and ".env" in (ROOT / ".gitignore").read_text().split()
    assignment = re.compile(
        r"""^\s*(SECRET_KEY|[A-Z_]*(PASSWORD|API_KEY|API_SECRET|TOKEN))\s*=\s*["'][^"']{8,}["']""", re.MULTILINE
    )
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".py", ".env", ".cfg", ".ini", ".toml", ".yaml", ".yml"} and path.is_file():
            assert not assignment.search(path.read_text(errors="replace")), f"{name} holds a hard-coded secret"
