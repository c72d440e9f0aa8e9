"""A new user's first hour without the model hub (issue 24, items 1 and 8), as separate processes on a fresh data
directory: ``quickstart`` imports, reads the words in the images and serves without an image model; the weights
arriving later make ``embed_photos`` embed; and what the commands print on the way is only what the user needs."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
NOTICE = "Search by looks is off until the model is available"


@pytest.fixture
def data_dir():
    """A fresh data directory outside pytest's own (kept private, 0700, by every pytest session that starts: the
    embedded server, which runs as another user when the tests run as root, could then no longer reach it to stop)."""
    path = Path(tempfile.mkdtemp(prefix="photosearch-first-hour-"))
    path.chmod(0o755)
    yield path / "data"
    shutil.rmtree(path, ignore_errors=True)


def _env(data_dir: Path, **extra) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "photosearch.settings",
            "PHOTOSEARCH_DATA_DIR": str(data_dir),
            "PHOTOSEARCH_OCR": "none",
            **extra,
        }
    )
    return env


def _run(*args, env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _offline_hub(tmp_path: Path) -> dict:
    """The default model with its hub out of reach, the way an air-gapped machine sees it: an empty model cache and
    the hub client offline (it fails at once instead of trying the network)."""
    return {
        "PHOTOSEARCH_CLIP_MODEL": "ViT-B-32",
        "PHOTOSEARCH_CLIP_PRETRAINED": "laion2b_s34b_b79k",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
    }


def _sign(path: Path, text: str) -> None:
    """A photo of a sign: real rendered words for the OCR engine to read."""
    image = Image.new("RGB", (900, 500), (235, 232, 220))
    ImageDraw.Draw(image).text((40, 190), text, font=ImageFont.load_default(size=72), fill=(20, 20, 25))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=92)


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-3000:]
        try:
            requests.get(url, timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def test_without_the_model_quickstart_reads_the_words_and_serves_search_by_words(tmp_path, data_dir):
    folder = tmp_path / "trip"
    _sign(folder / "sign.jpg", "LIGHTHOUSE CAFE")
    env = _env(data_dir, PHOTOSEARCH_OCR="rapidocr", **_offline_hub(tmp_path))

    done = _run("quickstart", str(folder), "--no-serve", env=env)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "trip: 1 imported" in done.stdout
    assert "1 read with rapidocr" in done.stdout and "(1 with words)" in done.stdout
    # open_clip's own log of the cache miss is not repeated to the user: the one sentence below says it all.
    assert "Traceback" not in done.stderr and "ERROR root" not in done.stderr
    assert "Failed to download" not in done.stderr
    # One sentence that names every way out.
    for way in (
        "connect to the model hub once",
        "PHOTOSEARCH_CLIP_PRETRAINED to a local checkpoint file",
        f"to {tmp_path / 'hf' / 'hub'}",
        "PHOTOSEARCH_CLIP_PRETRAINED=none",
        "python manage.py embed_photos",
    ):
        assert way in done.stderr, way
    assert NOTICE in done.stderr

    # Serving: the page and the API find the photo by the words read in it, and the page says once why looks are off.
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "quickstart", str(folder), "--addrport", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/", server)
        page = requests.get(f"http://127.0.0.1:{port}/", params={"q": "lighthouse"}, timeout=60)
        api = requests.get(f"http://127.0.0.1:{port}/api/v1/search/", params={"q": "lighthouse"}, timeout=60)
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)

    assert page.status_code == 200
    assert page.text.count(NOTICE) == 1
    assert "PHOTOSEARCH_CLIP_PRETRAINED=none" in page.text
    assert "showing text matches only" not in page.text  # the notice says it already
    assert 'class="tile"' in page.text and "words in the image" in page.text
    assert api.status_code == 200
    body = api.json()
    assert [(hit["profile"], hit["match"]["in_image_text"]) for hit in body["results"]] == [("trip", True)]
    assert any("weights" in warning and "PHOTOSEARCH_CLIP_PRETRAINED" in warning for warning in body["warnings"])


def test_the_weights_arriving_later_are_used_by_the_next_embed_photos(tmp_path, data_dir, encoder):
    import torch

    folder = tmp_path / "trip"
    _sign(folder / "sign.jpg", "HARBOUR")
    checkpoint = tmp_path / "weights" / "tiny.pt"  # not there yet: the copy comes later
    env = _env(data_dir, PHOTOSEARCH_CLIP_MODEL="photosearch-tiny", PHOTOSEARCH_CLIP_PRETRAINED=str(checkpoint))

    first = _run("quickstart", str(folder), "--no-serve", env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert NOTICE in first.stderr and "embedded with" not in first.stdout

    checkpoint.parent.mkdir()
    torch.save(encoder.model.state_dict(), checkpoint)
    later = _run("embed_photos", env=env)

    assert later.returncode == 0, later.stderr[-3000:]
    assert "1 embedded with photosearch-tiny/tiny-" in later.stdout


def test_an_import_without_a_broker_logs_nothing_of_celerys(data_dir, photo_folder):
    # The import queues its photos for embedding; with no broker the task runs in-process (eager mode).
    env = _env(
        data_dir,
        PHOTOSEARCH_CLIP_MODEL="photosearch-tiny",
        PHOTOSEARCH_CLIP_PRETRAINED="none",
        PHOTOSEARCH_AUTO_EMBED="true",
    )
    assert _run("migrate", env=env).returncode == 0

    done = _run("import_folder", str(photo_folder({"a.jpg": 1})), "--profile", "p", env=env)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "p: 1 imported" in done.stdout
    assert "kombu" not in done.stderr and "No hostname was supplied" not in done.stderr
    embedded = _run(
        "shell",
        "-c",
        "from profiles.models import Photo; print(Photo.objects.filter(embedding__isnull=False).count())",
        env=env,
    )
    assert embedded.stdout.split()[-1] == "1"


def test_a_process_joining_the_running_embedded_server_does_not_say_it_starts_it(data_dir):
    env = _env(data_dir)
    hold = "from django.db import connection; connection.ensure_connection(); print('up', flush=True); input()"
    first = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", hold],
        cwd=ROOT,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert first.stdout.readline().strip() == "up"
        joiner = _run("shell", "-c", "from django.db import connection; connection.ensure_connection()", env=env)
    finally:
        _, first_err = first.communicate("\n", timeout=60)

    assert joiner.returncode == 0, joiner.stderr[-3000:]
    assert "Starting embedded PostgreSQL" in first_err
    assert "embedded PostgreSQL" not in joiner.stderr  # joining is not news (a debug line says it)


class _Terminal(StringIO):
    """What a command writes to a terminal: progress bars draw, styles apply."""

    def isatty(self) -> bool:
        return True


@pytest.mark.django_db
def test_quickstarts_progress_bars_are_not_in_the_error_style(photo_folder, monkeypatch):
    # Run as from a terminal: manage.py's commands write to sys.stdout and sys.stderr, and style stderr as errors.
    out, err = _Terminal(), _Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)

    call_command("quickstart", str(photo_folder({"a.jpg": 1, "b.jpg": 2})), "--no-serve")

    bars = err.getvalue()
    assert "Importing photos" in bars and "Embedding with" in bars
    assert "\x1b[" not in bars  # neither red nor any other style: a progress bar is not an error
    assert "\r" in bars and "Importing photos: 100%" in bars  # redrawn in place


@pytest.mark.django_db
def test_the_upload_hint_names_every_format_imports_accept(client):
    from profiles.images import IMAGE_EXTENSIONS

    page = client.get("/").content.decode()

    hint = page.split('<label for="image">')[1].split("</label>")[0]
    for name in ("JPEG", "PNG", "WebP", "GIF", "HEIC", "HEIF", "AVIF"):
        assert name in hint
    accept = page.split('id="image" name="image" type="file" accept="')[1].split('"')[0]
    assert accept.split(",") == ["image/*", *IMAGE_EXTENSIONS]


@pytest.mark.django_db(transaction=True)  # the import queues its task when its transaction commits
def test_an_import_without_the_model_still_has_the_words_read(tmp_path, settings, caplog):
    from profiles.models import Photo
    from search.ml.ocr import get_ocr_engine

    settings.PHOTOSEARCH_OCR, settings.PHOTOSEARCH_AUTO_EMBED = "rapidocr", True
    settings.PHOTOSEARCH_CLIP_PRETRAINED = str(tmp_path / "not-copied-yet.pt")
    _sign(tmp_path / "trip" / "sign.jpg", "HARBOUR")

    call_command("import_folder", str(tmp_path / "trip"), "--profile", "trip", stdout=StringIO(), stderr=StringIO())

    photo = Photo.objects.get()
    assert photo.embedding is None and photo.ocr_engine == get_ocr_engine().engine_id
    assert "HARBOUR" in photo.ocr_text.upper()
    assert any(
        "not embedded" in record.getMessage() and "PHOTOSEARCH_CLIP_PRETRAINED" in record.getMessage()
        for record in caplog.records
    )
