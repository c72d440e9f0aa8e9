import dataclasses
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from profiles.models import Photo

pytestmark = pytest.mark.django_db


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_folder_names_each_skipped_file_and_summarises(photo_folder):
    root = photo_folder({"a.jpg": 1, "b.jpg": 2, "broken.jpg": b"\xff\xd8\xff not really"})

    out, err = _run("import_folder", str(root), "--profile", "trip")

    assert "trip: 2 imported, 0 updated, 0 unchanged, 1 skipped" in out
    assert "skipped 'broken.jpg':" in err
    out, _ = _run("import_folder", str(root), "--profile", "trip")
    assert "0 imported, 0 updated, 2 unchanged, 1 skipped" in out
    assert Photo.objects.count() == 2


def test_import_folder_refuses_a_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="missing: No such folder on the server"):
        _run("import_folder", str(tmp_path / "missing"), "--profile", "trip")


# --- Other sources through their commands -------------------------------------------------------------------------

import io  # noqa: E402
import json  # noqa: E402

from PIL import Image  # noqa: E402

from profiles.models import ImportJob, Profile  # noqa: E402
from tests.conftest import image_bytes, served_folder  # noqa: E402


@pytest.fixture
def web_folder(tmp_path):
    """A real HTTP server on 127.0.0.1 serving a folder of good and bad images."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "a.jpg").write_bytes(image_bytes(1))
    (root / "b.png").write_bytes(image_bytes(2, fmt="PNG"))
    (root / "corrupt.jpg").write_bytes(image_bytes(3)[:300])
    (root / "page.html").write_text("<html>not an image</html>")
    bomb = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(bomb, format="PNG")  # 144 Mpx in a few kB
    (root / "bomb.png").write_bytes(bomb.getvalue())
    with served_folder(root) as url:
        yield url


def test_import_urls_imports_the_good_images_and_says_why_each_bad_one_was_skipped(web_folder, tmp_path, settings):
    settings.PHOTOSEARCH_ALLOW_PRIVATE_URLS = True  # the test server lives on loopback
    settings.PHOTOSEARCH_MAX_IMAGE_PIXELS = 50_000_000
    urls = tmp_path / "urls.json"
    urls.write_text(
        json.dumps(
            [
                {"url": f"{web_folder}/a.jpg", "caption": "First light over the dunes #desert"},
                f"{web_folder}/b.png",
                f"{web_folder}/corrupt.jpg",
                f"{web_folder}/page.html",
                f"{web_folder}/bomb.png",
                f"{web_folder}/missing.jpg",
            ]
        )
    )

    out, err = _run("import_urls", str(urls), "--profile", "blog")

    assert "blog: 2 imported, 0 updated, 0 unchanged, 4 skipped" in out
    assert f"skipped '{web_folder}/corrupt.jpg': corrupt or truncated image" in err
    assert f"skipped '{web_folder}/page.html': not an image (content type text/html)" in err
    assert f"skipped '{web_folder}/bomb.png': image too large" in err
    assert f"skipped '{web_folder}/missing.jpg': HTTP 404" in err
    photo = Photo.objects.get(source_id=f"{web_folder}/a.jpg")
    assert photo.source_text == "First light over the dunes #desert" and photo.hashtags == "desert"
    assert "0 imported, 0 updated, 2 unchanged, 4 skipped" in _run("import_urls", str(urls), "--profile", "blog")[0]


def test_import_urls_refuses_loopback_addresses_by_default(web_folder, tmp_path):
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{web_folder}/a.jpg\nhttp://localhost:9/b.jpg\n")

    out, err = _run("import_urls", str(urls), "--profile", "blog")

    assert "0 imported, 0 updated, 0 unchanged, 2 skipped" in out
    assert err.count("non-public address") == 2 and not Photo.objects.exists()


def test_import_instagram_from_an_instaloader_folder_needs_no_network(tmp_path, monkeypatch):
    from tests.profiles.sources.instagram import fake_instagram as ig

    folder = ig.instaloader_folder(tmp_path / "alice", [node for page in ig.PAGES for node in page])
    monkeypatch.setattr("profiles.fetch._session", lambda: pytest.fail("the offline import used the network"))

    out, _ = _run("import_instagram", "alice", "--from-dir", str(folder))
    again, _ = _run("import_instagram", "alice", "--from-dir", str(folder))

    assert "alice: 9 imported" in out and "alice: 0 imported, 0 updated, 9 unchanged" in again
    assert sorted(Photo.objects.values_list("source_id", flat=True)) == sorted(ig.ALL_IDS)
    carousel = Photo.objects.filter(extra__post="C7carousel1").order_by("source_id")
    assert [p.media_type for p in carousel] == ["image", "video", "image"]
    assert Profile.objects.get().source_kind == "instagram"


def test_import_flickr_without_a_key_says_how_to_get_one(settings):
    settings.FLICKR_API_KEY = ""
    with pytest.raises(CommandError, match="FLICKR_API_KEY is not set"):
        _run("import_flickr", "--album", "72157600000000000")


def test_a_refused_instagram_import_exits_with_the_reason_and_a_resume_hint(monkeypatch):
    from profiles.sources import registry
    from profiles.sources.base import SourceRefused

    class Refusing:
        total = None

        def records(self):
            raise SourceRefused("Instagram answered 429 Too Many Requests; wait a few hours.")
            yield

        def read(self, record):
            raise AssertionError("nothing to read")

    monkeypatch.setitem(
        registry.SOURCE_KINDS,
        "instagram",
        dataclasses.replace(registry.SOURCE_KINDS["instagram"], build=lambda context: Refusing()),
    )

    with pytest.raises(CommandError, match="429 Too Many Requests; wait a few hours. Progress is saved: rerun"):
        _run("import_instagram", "alice", "--login", "me")
    job = ImportJob.objects.get()
    assert job.status == "interrupted" and job.profile.source_options == {"login": "me"}
