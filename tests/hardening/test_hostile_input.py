"""Hostile input (issue 12): the cases a hostile-input probe found, one test each, against the real database, with real
`manage.py` processes where a hang or an exit code is the point, and real HTTP where the transport is.

Every import case shows the rest of the folder (or list) imported: one bad file, text or row never costs the others.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import re
import shutil
import string
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.postgres.search import SearchQuery
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client
from django.utils import timezone
from PIL import Image
from rest_framework.authtoken.models import Token

from profiles.models import ImportJob, Photo, Profile
from profiles.services.imports import folder_import
from tests.conftest import image_bytes, served_folder
from tests.hardening.conftest import ROOT, subprocess_env
from tests.support.api import api, assert_error, call, make_tokens, multipart

pytestmark = pytest.mark.django_db(transaction=True)

IMPORT_LOCK_CLASS = 0x70686F74  # "phot": the advisory lock namespace of imports (profiles/selectors.py)


# --- Helpers -------------------------------------------------------------------------------------------------------


def manage(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """A real ``manage.py`` child; one that hangs fails the test instead of blocking the run."""
    try:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"manage.py {' '.join(args)} hung for {timeout} s: {(exc.stderr or b'')[-2000:]!r}")


def run_command(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def wait_for(condition, timeout: float, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the process ended before {what}: {process.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def stored_thumbnails(media_root: Path) -> set[str]:
    return {str(path.relative_to(media_root)) for path in (media_root / "thumbnails").rglob("*") if path.is_file()}


def distinct_words(size: int, *, seed: int = 12) -> str:
    """``size`` characters of distinct random hyphenated pairs (``abcdef-ghijkl``: three lexemes each), the costliest
    text for a tsvector."""
    rng = random.Random(seed)
    pairs, length = [], 0
    while length < size:
        pair = (
            "".join(rng.choices(string.ascii_lowercase, k=6)) + "-" + "".join(rng.choices(string.ascii_lowercase, k=6))
        )
        pairs.append(pair)
        length += len(pair) + 1
    return " ".join(pairs)


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def web_images(tmp_path):
    """A real HTTP server on 127.0.0.1 serving two images."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "a.jpg").write_bytes(image_bytes(1))
    (root / "b.jpg").write_bytes(image_bytes(2))
    with served_folder(root) as url:
        yield url


# --- 1. One bad text, or one row the database refuses, aborted the whole import -----------------------------------


def test_a_megabyte_sidecar_of_distinct_words_is_cut_short_and_the_whole_folder_imported(photo_folder, media_root):
    from profiles.sources.text import TEXT_MAX_CHARS

    huge = distinct_words(1_000_000)  # its tsvector would be ~2 MB: PostgreSQL refuses over 1 MB
    folder = photo_folder({"a.jpg": 1, "b.jpg": 2, "b.txt": huge, "c.jpg": 3, "c.txt": "a quiet harbour"})

    result = manage(
        "import_folder",
        str(folder),
        "--profile",
        "words",
        "--no-progress",
        "--no-embed",
        env=subprocess_env(media_root),
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "words: 3 imported, 0 updated, 0 unchanged, 0 skipped" in result.stdout, result.stdout
    assert ImportJob.objects.get().status == "succeeded"
    text = Photo.objects.get(source_id="b.jpg").source_text
    assert text.endswith("…") and TEXT_MAX_CHARS - 200 < len(text) <= TEXT_MAX_CHARS + 1, len(text)
    assert huge.startswith(text[:-1].rstrip())  # cut at a word boundary, nothing else changed
    first_word = huge.split("-", 1)[0]
    assert list(
        Photo.objects.filter(search_vector=SearchQuery(first_word, config="english")).values_list(
            "source_id", flat=True
        )
    ) == ["b.jpg"]  # indexed, searchable
    assert Photo.objects.get(source_id="c.jpg").source_text == "a quiet harbour"


def test_a_nul_byte_in_a_sidecar_is_removed_and_the_folder_imported(photo_folder):
    folder = photo_folder({"a.jpg": 1, "a.txt": "red\x00 door\x00", "b.jpg": 2, "c.jpg": 3})

    job = folder_import(path=folder, profile_name="nul")

    assert (job.status, job.imported, job.skipped, job.failed) == ("succeeded", 3, 0, 0), job.problems
    assert Photo.objects.get(source_id="a.jpg").source_text == "red door"


def test_a_nul_in_a_url_lists_caption_is_removed_and_the_list_imported(web_images, tmp_path, settings):
    settings.PHOTOSEARCH_ALLOW_PRIVATE_URLS = True  # the test server lives on loopback
    urls = tmp_path / "urls.json"
    urls.write_text(
        json.dumps(
            [
                {
                    "url": f"{web_images}/a.jpg",
                    "caption": "harbour\u0000 lights #night\u0000",
                    "alt_text": "boats\u0000",
                },
                f"{web_images}/b.jpg",
            ]
        )
    )

    out, err = run_command("import_urls", str(urls), "--profile", "blog", "--no-progress")

    assert "blog: 2 imported, 0 updated, 0 unchanged, 0 skipped" in out, err
    photo = Photo.objects.get(source_id=f"{web_images}/a.jpg")
    assert (photo.source_text, photo.hashtags, photo.alt_text) == ("harbour lights #night", "night", "boats")
    assert ImportJob.objects.get().status == "succeeded"


def test_a_row_the_database_refuses_is_skipped_alone_and_the_rest_imported(photo_folder, media_root):
    deep = "/".join(["d" * 200] * 3) + "/deep.jpg"  # a source id of 611 characters: Photo.source_id holds 512
    folder = photo_folder({"a.jpg": 1, deep: 2, "zz/z.jpg": 3})  # zz/ comes after the deep folder

    job = folder_import(path=folder, profile_name="deep")

    assert (job.status, job.imported, job.skipped, job.failed) == ("succeeded", 2, 1, 0), job.problems
    [(source_id, reason)] = job.problems
    assert source_id == deep and "database" in reason, reason
    assert sorted(Photo.objects.values_list("source_id", flat=True)) == ["a.jpg", "zz/z.jpg"]
    # The refused row's thumbnail went with it: every file is used by a row.
    assert stored_thumbnails(media_root) == set(Photo.objects.values_list("thumbnail", flat=True))


# --- 2. Non-regular files and links leaving the folder ---------------------------------------------------------------


def test_pipes_devices_and_links_leaving_the_folder_are_skipped_and_the_rest_imported(
    photo_folder, media_root, tmp_path
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("root:x:0:0:secret-line\n")
    (outside / "private.jpg").write_bytes(image_bytes(9))
    folder = photo_folder({"a.jpg": 1, "b.jpg": 2, "sub/c.jpg": 3})
    os.mkfifo(folder / "pipe.jpg")  # a named pipe: opening it for reading waits for a writer forever
    (folder / "zero.jpg").symlink_to("/dev/zero")  # reads without end
    (folder / "a.txt").symlink_to(outside / "secret.txt")  # a sidecar that would publish a server file
    (folder / "private.jpg").symlink_to(outside / "private.jpg")
    (folder / "inside.jpg").symlink_to(folder / "sub" / "c.jpg")  # stays in the folder: followed

    started = time.monotonic()
    result = manage(
        "import_folder",
        str(folder),
        "--profile",
        "links",
        "--no-progress",
        "--no-embed",
        env=subprocess_env(media_root),
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert time.monotonic() - started < 60
    assert "links: 4 imported, 0 updated, 0 unchanged, 3 skipped" in result.stdout, result.stdout
    problems = dict(ImportJob.objects.get().problems)
    assert set(problems) == {"pipe.jpg", "zero.jpg", "private.jpg"}, problems
    assert problems["pipe.jpg"].startswith("not a regular file"), problems
    assert "outside the imported folder" in problems["private.jpg"], problems
    assert "skipped 'pipe.jpg': not a regular file" in result.stderr
    assert sorted(Photo.objects.values_list("source_id", flat=True)) == ["a.jpg", "b.jpg", "inside.jpg", "sub/c.jpg"]
    assert Photo.objects.get(source_id="a.jpg").source_text == ""
    assert not Photo.objects.filter(source_text__contains="secret-line").exists()


# --- 3. A refused import leaves no job queued; the API says 409; the admin stops refreshing --------------------------


def test_a_second_import_of_a_running_profile_is_refused_and_its_job_ends_refused(tmp_path, media_root):
    from profiles.selectors import profile_get_with_last_import

    folder = tmp_path / "big"
    folder.mkdir()
    big = image_bytes(1, size=(3000, 2250))
    for i in range(100):  # ~0.1 s each to check and shrink: the first import runs for seconds
        (folder / f"{i:03}.jpg").write_bytes(big + i.to_bytes(4, "big"))  # distinct bytes after the JPEG's end
    env = subprocess_env(media_root)
    args = [
        sys.executable,
        "manage.py",
        "import_folder",
        str(folder),
        "--profile",
        "busy",
        "--no-progress",
        "--no-embed",
    ]

    first = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: ImportJob.objects.filter(status="running").exists(), 120, "the first import to run", first)
        running = ImportJob.objects.get(status="running")
        second = manage(*args[2:], env=env, timeout=120)
        assert first.poll() is None, "the first import ended before the second started: make it slower"
        first_out, first_err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    assert second.returncode == 1, (second.stdout, second.stderr)
    assert f"Another import of busy is running (job #{running.pk})" in second.stderr, second.stderr
    refused = ImportJob.objects.exclude(pk=running.pk).get()
    assert refused.status == "refused" and f"job #{running.pk}" in refused.last_error, refused.last_error
    assert refused.finished_at is not None and refused.imported == 0
    assert first.returncode == 0, first_err[-3000:]
    assert "busy: 100 imported, 0 updated, 0 unchanged, 0 skipped" in first_out
    running.refresh_from_db()
    assert running.status == "succeeded"
    # The profile's last import is the one that ran, not the refused one.
    assert profile_get_with_last_import(profile_id=running.profile_id).last_import == running
    assert not ImportJob.objects.filter(status__in=["queued", "running"]).exists()


def test_the_api_answers_409_while_an_import_of_the_profile_runs_and_queues_nothing(
    live_server, photo_folder, django_user_model
):
    tokens = make_tokens(django_user_model)
    profile = Profile.objects.create(
        source_kind="folder", handle="busy", source_options={"path": str(photo_folder({"a.jpg": 1}))}
    )
    running = ImportJob.objects.create(profile=profile, status="running", heartbeat_at=timezone.now())
    other = connections.create_connection("default")  # the live process running `running` holds the lock
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [IMPORT_LOCK_CLASS, profile.pk])
        status, _, body = api(
            live_server, "POST", f"/api/v1/profiles/{profile.pk}/imports/", token=tokens["staff"], json_body={}
        )
    finally:
        other.close()

    assert status == 409, body
    assert_error(body)
    assert f"job #{running.pk}" in body["error"], body
    assert list(ImportJob.objects.values_list("pk", flat=True)) == [running.pk]
    assert not Photo.objects.exists()


def test_the_admin_job_list_refreshes_itself_only_while_an_import_may_still_run(client, django_user_model):
    from profiles.selectors import import_jobs_in_flight

    client.force_login(django_user_model.objects.create_superuser("root", password="pw"))
    profile = Profile.objects.create(source_kind="folder", handle="p")

    def page_refreshes() -> bool:
        page = client.get("/admin/profiles/importjob/")
        assert page.status_code == 200
        return b'http-equiv="refresh"' in page.content

    now = timezone.now()
    ImportJob.objects.create(profile=profile, status="refused", finished_at=now, last_error="Another import…")
    ImportJob.objects.create(profile=profile, status="succeeded", finished_at=now)
    ImportJob.objects.create(profile=profile, status="failed", finished_at=now)
    lost = ImportJob.objects.create(profile=profile)  # queued, then its task was lost
    ImportJob.objects.filter(pk=lost.pk).update(created_at=now - timedelta(minutes=11))
    assert not import_jobs_in_flight() and not page_refreshes()

    fresh = ImportJob.objects.create(profile=profile)
    assert import_jobs_in_flight() and page_refreshes()

    fresh.delete()
    ImportJob.objects.create(profile=profile, status="running", heartbeat_at=now)
    assert import_jobs_in_flight() and page_refreshes()


# --- 4. No server file contents or absolute paths in public reads; import roots -------------------------------------


def test_a_server_file_imported_as_a_url_list_shows_line_numbers_never_its_lines(
    live_server, django_user_model, tmp_path
):
    tokens = make_tokens(django_user_model)
    system = tmp_path / "passwd"
    system.write_text(
        "root:x:0:0:secret-line:/root:/bin/bash\n"
        "daemon:x:1:1:another-secret:/usr/sbin:/usr/sbin/nologin\n"
        "\n"
        "admin:$6$hidden-hash-value:19000:0:99999:7:::\n"
    )

    status, _, created = api(
        live_server,
        "POST",
        "/api/v1/profiles/",
        token=tokens["staff"],
        json_body={"source_kind": "urls", "handle": "system", "options": {"file": str(system)}},
    )
    assert status == 201, created
    job_id = created["job"]["id"]
    status, _, raw = call(live_server, "GET", f"/api/v1/jobs/{job_id}/")  # anonymous: reads are public
    job = json.loads(raw)

    assert status == 200 and job["status"] == "succeeded" and job["skipped"] == 3, job
    assert [problem["source_id"] for problem in job["problems"]] == ["line 1", "line 2", "line 4"]
    assert all(problem["reason"] == "not an http(s) URL" for problem in job["problems"]), job["problems"]
    listing = call(live_server, "GET", "/api/v1/profiles/")[2] + call(live_server, "GET", "/profiles/")[2]
    for leaked in ("secret", "root:x", "hidden-hash", "nologin", str(tmp_path)):
        assert leaked.encode() not in raw and leaked.encode() not in listing, leaked


def test_a_server_json_file_imported_as_a_url_list_shows_none_of_its_values(live_server, django_user_model, tmp_path):
    tokens = make_tokens(django_user_model)
    config = tmp_path / "credentials.json"  # any JSON list on the server, e.g. an application's accounts
    config.write_text(json.dumps([{"user": "admin", "password": "hunter2-secret-value"}]))

    status, _, created = api(
        live_server,
        "POST",
        "/api/v1/profiles/",
        token=tokens["staff"],
        json_body={"source_kind": "urls", "handle": "config", "options": {"file": str(config)}},
    )
    assert status == 201, created
    status, _, raw = call(live_server, "GET", f"/api/v1/jobs/{created['job']['id']}/")  # anonymous
    job = json.loads(raw)

    assert status == 200 and job["status"] != "succeeded" and "item 1" in job["last_error"], job
    listing = call(live_server, "GET", "/api/v1/profiles/")[2] + call(live_server, "GET", "/profiles/")[2]
    for leaked in ("hunter2", "password", str(tmp_path)):
        assert leaked.encode() not in raw and leaked.encode() not in listing, (leaked, job["last_error"])


def test_a_failed_jobs_error_shows_no_absolute_server_path_to_the_public(
    live_server, django_user_model, photo_folder, tmp_path
):
    tokens = make_tokens(django_user_model)
    folder = photo_folder({"a.jpg": 1}, name="holiday-2019")
    folder_import(path=folder, profile_name="holiday")
    profile = Profile.objects.get()
    shutil.rmtree(folder)

    status, _, queued = api(
        live_server, "POST", f"/api/v1/profiles/{profile.pk}/imports/", token=tokens["staff"], json_body={}
    )
    assert status == 202, queued
    job = ImportJob.objects.get(pk=queued["id"])
    assert job.status == "failed" and str(folder) in job.last_error  # staff (admin) keep the whole message

    status, _, detail = api(live_server, "GET", f"/api/v1/jobs/{job.pk}/")
    assert status == 200 and detail["last_error"] == "…/holiday-2019 is not a folder.", detail["last_error"]
    status, _, listing = api(live_server, "GET", f"/api/v1/profiles/{profile.pk}/")
    assert listing["last_job"]["last_error"] == "…/holiday-2019 is not a folder.", listing["last_job"]
    status, _, page = call(live_server, "GET", "/profiles/")
    assert status == 200 and "…/holiday-2019 is not a folder." in page.decode()
    for body in (json.dumps(detail), json.dumps(listing), page.decode()):
        assert str(tmp_path) not in body and "/tmp/" not in body


def test_import_roots_bound_the_folders_the_api_accepts(
    live_server, django_user_model, photo_folder, tmp_path, settings
):
    tokens = make_tokens(django_user_model)
    root = tmp_path / "allowed"
    inside = photo_folder({"a.jpg": 1}, name="allowed/inside")
    outside = photo_folder({"b.jpg": 2}, name="elsewhere")
    (root / "link").symlink_to(outside)  # inside the root by name, outside by where it leads
    settings.PHOTOSEARCH_IMPORT_ROOTS = [root]

    def create(handle: str, path: Path):
        return api(
            live_server,
            "POST",
            "/api/v1/profiles/",
            token=tokens["staff"],
            json_body={"source_kind": "folder", "handle": handle, "options": {"path": str(path)}},
        )

    for handle, path in (("outside", outside), ("link", root / "link")):
        status, _, body = create(handle, path)
        assert status == 400, body
        assert_error(body, "options.path")
        assert "PHOTOSEARCH_IMPORT_ROOTS" in body["error"], body
    status, _, body = create("inside", inside)

    assert status == 201 and body["profile"]["photo_count"] == 1, body
    assert list(Profile.objects.values_list("handle", flat=True)) == ["inside"]
    assert list(Photo.objects.values_list("source_id", flat=True)) == ["a.jpg"]


def test_import_roots_bound_what_a_command_imports(photo_folder, tmp_path, settings):
    root = tmp_path / "allowed"
    root.mkdir()
    outside = photo_folder({"b.jpg": 2}, name="elsewhere")
    (root / "link").symlink_to(outside)
    system = tmp_path / "passwd"
    system.write_text("root:x:0:0:secret-line\n")
    settings.PHOTOSEARCH_IMPORT_ROOTS = [root]

    for command, path in (("import_folder", outside), ("import_folder", root / "link"), ("import_urls", system)):
        with pytest.raises(CommandError, match="PHOTOSEARCH_IMPORT_ROOTS"):
            run_command(command, str(path), "--profile", f"x-{command}", "--no-progress")

    # Refused by the source registry's check before anything is created, as the API and the admin refuse it.
    assert not Photo.objects.exists() and not ImportJob.objects.exists() and not Profile.objects.exists()


# --- 5. One anonymous budget for every search entry point ---------------------------------------------------------


@pytest.fixture(params=["local memory", "redis"])
def throttle_cache(request, settings):
    """A rate of 3 anonymous searches a minute, counted in the process's memory or in the local Redis (a key prefix
    of the test's own, deleted afterwards; never a flush)."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "3/min"}}
    if request.param == "local memory":
        yield None
        return
    original = settings.CACHES
    prefix = f"photosearch-hostile-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/13",
            "KEY_PREFIX": prefix,
        }
    }
    client = redis.Redis(host="127.0.0.1", port=6379, db=13)
    try:
        yield client, prefix
    finally:
        settings.CACHES = original  # before any fixture clears "the" cache: never Redis database 13
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_search_pages_and_the_api_share_one_anonymous_budget(live_server, throttle_cache, django_user_model, encoder):
    member = django_user_model.objects.create_user("member", password="pw")
    token = Token.objects.create(user=member).key
    browser = Client()
    browser.force_login(member)
    session = f"{django_settings.SESSION_COOKIE_NAME}={browser.cookies[django_settings.SESSION_COOKIE_NAME].value}"

    status, headers, _ = call(live_server, "GET", "/")
    assert status == 200
    [csrf] = [
        re.match(r"csrftoken=([^;]+)", cookie).group(1)
        for cookie in headers.get_all("Set-Cookie")
        if cookie.startswith("csrftoken=")
    ]
    assert call(live_server, "GET", "/", params={"q": "harbour"})[0] == 200
    assert api(live_server, "GET", "/api/v1/search/", params={"q": "harbour"})[0] == 200

    # The budget (3) is spent, whichever entry point spent it.
    status, headers, page = call(live_server, "GET", "/", params={"q": "harbour"})
    assert status == 429, page[:300]
    assert int(headers["Retry-After"]) > 0 and b"Too many searches" in page
    form, form_type = multipart({"csrfmiddlewaretoken": csrf}, {"image": ("q.jpg", "image/jpeg", image_bytes(1))})
    by_image = call(
        live_server,
        "POST",
        "/search/image/",
        body=form,
        content_type=form_type,
        headers={"Cookie": f"csrftoken={csrf}"},
    )
    assert by_image[0] == 429, by_image[2][:300]
    status, headers, body = api(live_server, "GET", "/api/v1/search/", params={"q": "harbour"})
    assert status == 429 and int(headers["Retry-After"]) > 0
    assert_error(body)

    # Signed-in users are not throttled: the page with a session, the API with a token.
    assert call(live_server, "GET", "/", params={"q": "harbour"}, headers={"Cookie": session})[0] == 200
    assert api(live_server, "GET", "/api/v1/search/", params={"q": "harbour"}, token=token)[0] == 200

    if throttle_cache is not None:  # the count lives in Redis, where every web process sees it
        client, prefix = throttle_cache
        [key] = [key for key in client.scan_iter(match=f"{prefix}*") if b"throttle_anon" in key]
        assert len(pickle.loads(client.get(key))) == 3


# --- 6. High-bit-depth images -------------------------------------------------------------------------------------


def test_a_16_bit_grey_png_keeps_its_tones_in_the_thumbnail(photo_folder, media_root):
    ramp = np.tile(np.linspace(0, 65535, 512).astype(np.uint16), (256, 1))  # black on the left, white on the right
    assert Image.fromarray(ramp).mode == "I;16"
    folder = photo_folder({"ramp.png": png(ramp), "b.jpg": 2})

    job = folder_import(path=folder, profile_name="grey")

    assert (job.imported, job.skipped) == (2, 0), job.problems
    with Image.open(media_root / Photo.objects.get(source_id="ramp.png").thumbnail.name) as thumbnail:
        grey = np.asarray(thumbnail.convert("L"), dtype=np.float64)
    assert 100 <= grey.mean() <= 160, grey.mean()
    assert grey[:, :10].mean() < 30 and grey[:, -10:].mean() > 225, (grey[:, :10].mean(), grey[:, -10:].mean())


# --- 7. Smaller ones ---------------------------------------------------------------------------------------------


def test_mark_characters_in_a_sidecar_are_removed_and_headlines_stay_balanced(photo_folder, encoder):
    from search.selectors import RankingOptions, photo_search
    from search.services.embedding import photos_embed

    # \x02 and \x03 are the characters ts_headline marks matches with: a lone one would open a <mark> never closed.
    folder = photo_folder({"a.jpg": 1, "a.txt": "Harbour \x02boats at dawn\x03\x03\x03 by the nets", "b.jpg": 2})
    folder_import(path=folder, profile_name="marks")
    photos_embed(encoder=encoder)

    text = Photo.objects.get(source_id="a.jpg").source_text
    assert "\x02" not in text and "\x03" not in text and "boats at dawn" in text, repr(text)
    result = photo_search(query="harbour boats", encoder=encoder, ranking=RankingOptions(cutoff=0))
    [headline] = [hit.headline for hit in result.hits if hit.photo.source_id == "a.jpg"]
    assert headline.count("<mark>") == headline.count("</mark>") == 2, headline
    assert re.fullmatch(r"(?:[^<]|<mark>[^<]+</mark>)*", headline), headline


def test_a_file_name_with_a_line_break_cannot_forge_lines_of_the_import_report(photo_folder):
    name = "a\nskipped fake.jpg: forged.jpg"
    folder = photo_folder({name: b"\xff\xd8\xff not an image", "b.jpg": 2})

    out, err = run_command("import_folder", str(folder), "--profile", "names", "--no-progress", "--no-embed")

    assert "names: 1 imported, 0 updated, 0 unchanged, 1 skipped" in out, (out, err)
    assert f"skipped {name!r}: " in err, err
    assert not any(line.startswith("skipped fake.jpg") for line in err.splitlines()), err


def test_a_pixel_limit_above_pillows_own_default_takes_effect(photo_folder, settings):
    big = png(np.zeros((9500, 9500), dtype=np.uint8))  # 90.25 M pixels: over Pillow's 89,478,485, in ~90 kB
    folder = photo_folder({"big.png": big, "b.jpg": 2})

    settings.PHOTOSEARCH_MAX_IMAGE_PIXELS = 100_000_000
    allowed = folder_import(path=folder, profile_name="allowed")
    settings.PHOTOSEARCH_MAX_IMAGE_PIXELS = 80_000_000
    refused = folder_import(path=folder, profile_name="refused")

    assert (allowed.imported, allowed.skipped) == (2, 0), allowed.problems
    assert Photo.objects.get(profile__handle="allowed", source_id="big.png").width == 9500
    assert (refused.imported, refused.skipped) == (1, 1), refused.problems
    [(source_id, reason)] = refused.problems
    assert source_id == "big.png" and reason.startswith("image too large"), reason
