"""Shared fixtures: generated images and folders, an isolated media root, photos imported through the real services."""

from __future__ import annotations

import contextlib
import functools
import io
import random
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

# The helper modules shared by test modules assert too: pytest rewrites their asserts as it does the tests' own.
pytest.register_assert_rewrite("tests.support", "tests.search.posts", "tests.profiles.sources.instagram.fake_instagram")


def make_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A picture that differs clearly from any other seed's: coloured background with random shapes."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randrange(size[0]), rng.randrange(size[1])
        x1, y1 = x0 + rng.randrange(20, 160), y0 + rng.randrange(20, 120)
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    return image


def image_bytes(seed: int, *, fmt: str = "JPEG", quality: int = 92, size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    image = make_image(seed, size)
    if fmt == "JPEG":
        image.save(out, format=fmt, quality=quality)
    else:
        image.save(out, format=fmt)
    return out.getvalue()


@contextlib.contextmanager
def served_folder(root: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving ``root``; yields its base URL (downloads from it need
    ``PHOTOSEARCH_ALLOW_PRIVATE_URLS``)."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def fresh_cache():
    """Cached reads (embedding coverage…) must not leak from one test's database into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Every test writes thumbnails to its own folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def photo_folder(tmp_path) -> Callable[..., Path]:
    """Build a folder: ``photo_folder({"a.jpg": 1, "a.txt": "words", "bad.jpg": b"junk"})``.

    An int value is an image seed (JPEG, or PNG/WEBP/GIF by extension), str is a text file, bytes are written as is.
    """

    def build(files: dict[str, int | str | bytes], name: str = "photos") -> Path:
        root = tmp_path / name
        for relative, content in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, int):
                fmt = {".png": "PNG", ".webp": "WEBP", ".gif": "GIF"}.get(path.suffix.lower(), "JPEG")
                path.write_bytes(image_bytes(content, fmt=fmt))
            elif isinstance(content, str):
                path.write_text(content, encoding="utf-8")
            else:
                path.write_bytes(content)
        return root

    return build


@pytest.fixture
def tokens(django_user_model) -> dict[str, str]:
    """API tokens of a staff user ("staff") and of an ordinary user ("reader")."""
    from tests.support.api import make_tokens

    return make_tokens(django_user_model)


@pytest.fixture(scope="session")
def encoder():
    """The configured (tiny, seeded) encoder, loaded once for the session."""
    from search.ml.encoders import get_encoder

    return get_encoder()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server process a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_stop(process: subprocess.Popen, *, wait: float = 30) -> None:
    """Stop a server process a test started: SIGTERM, then SIGKILL if it has not ended within ``wait`` seconds."""
    process.terminate()
    try:
        process.wait(wait)
    except subprocess.TimeoutExpired:
        process.kill()


# --- A real Chromium (Debian's; Playwright never downloads a browser here) -------------------------------------------

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Chromium, one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh desktop-sized page (1280×900)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()
