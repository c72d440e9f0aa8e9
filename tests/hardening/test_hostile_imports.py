"""Hostile imports (issue 23, cases 3, 4, 5, 8 and the file names of 10): one malformed post, a decompression bomb, an
impossible date, a profile deleted mid-import, a file name that is not UTF-8. Real instaloader-shaped folders (written
by instaloader's own ``save_structure_to_file``, then altered as a hostile or broken tool would), real ``.json.xz``
(lzma), real ``manage.py`` processes where the exit status, the memory or the concurrency is the point, real HTTP for
the pages.

Every import case shows the rest imported and the job ``succeeded``: one bad item never costs the others.
"""

from __future__ import annotations

import importlib
import io
import json
import lzma
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import instaloader
import pytest
from django.core.management import call_command
from django.db import connection
from instaloader import Post
from PIL import Image

from profiles.models import ImportJob, Photo, Profile
from profiles.services.photos import records_ingest
from profiles.sources.base import SourceRecord
from profiles.sources.instagram.offline import METADATA_MAX_BYTES, OfflineContext
from tests.conftest import image_bytes
from tests.hardening.conftest import ROOT, subprocess_env
from tests.profiles.sources.instagram.downloads import graphql_post
from tests.profiles.sources.instagram.fake_instagram import T0

pytestmark = pytest.mark.django_db(transaction=True)

HOUR = 3600


# --- Helpers -------------------------------------------------------------------------------------------------------


def stamp(timestamp: int) -> str:
    """instaloader's default name of a post's files: its date, UTC."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d_%H-%M-%S") + "_UTC"


class OfflineFolder:
    """A folder as ``instaloader alice`` writes it: per post ``{date}_UTC.json`` (or ``.json.xz``) and its image.
    Each post's metadata is saved by instaloader itself, then ``alter`` changes the saved JSON as a broken or hostile
    tool could."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.next_time = T0
        self.seed = 0

    def post(
        self,
        shortcode: str,
        *,
        alter: Callable[[dict], Any] | None = None,
        raw: bytes | None = None,
        compressed: bool = False,
        kind: str = "image",
        items: int = 0,
    ) -> str:
        """Save one post; return its file stem. ``raw`` replaces the metadata file's whole content."""
        taken_at, self.next_time = self.next_time, self.next_time - HOUR
        name = stamp(taken_at)
        node = graphql_post(shortcode, taken_at, f"{shortcode} at the harbour #harbour", kind=kind, items=items)
        plain = self.root / f"{name}.json"
        instaloader.save_structure_to_file(Post(OfflineContext(), node), str(plain))
        data = json.loads(plain.read_text())
        if alter is not None:
            alter(data)
        content = raw if raw is not None else json.dumps(data).encode()
        if compressed:
            plain.unlink()
            (self.root / f"{name}.json.xz").write_bytes(lzma.compress(content))
        else:
            plain.write_bytes(content)
        for suffix in [f"_{i}" for i in range(1, items + 1)] if kind == "carousel" else [""]:
            self.seed += 1
            (self.root / f"{name}{suffix}.jpg").write_bytes(image_bytes(self.seed))
        return name

    def without_metadata(self, name: str) -> str:
        """A post downloaded with ``--no-metadata-json``: its image alone, named ``name``."""
        self.seed += 1
        (self.root / f"{name}.jpg").write_bytes(image_bytes(self.seed))
        return name


def node(path: str, value: Any) -> Callable[[dict], None]:
    """An alteration: set the saved node's field at ``path`` ("a.b.0.c") to ``value``."""

    def alter(data: dict) -> None:
        holder: Any = data["node"]
        *parts, last = path.split(".")
        for part in parts:
            holder = holder[int(part)] if isinstance(holder, list) else holder[part]
        holder[int(last) if isinstance(holder, list) else last] = value

    return alter


def import_offline(folder: Path) -> tuple[ImportJob, str, str]:
    out, err = StringIO(), StringIO()
    call_command(
        "import_instagram", "alice", "--from-dir", str(folder), "--no-progress", "--no-embed", stdout=out, stderr=err
    )
    return ImportJob.objects.latest("pk"), out.getvalue(), err.getvalue()


# Runs its arguments as a child and prints the child's peak RSS (KiB) last on stderr.
MEASURE_PEAK = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print('peak-rss-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


def manage(*args: str, env: dict, timeout: float = 300, python_only: bool = False) -> subprocess.CompletedProcess:
    """A real ``manage.py`` child (``python_only``: python with ``args``); one that hangs fails the test."""
    command = [sys.executable, *args] if python_only else [sys.executable, "manage.py", *args]
    try:
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"manage.py {' '.join(args)} hung for {timeout} s: {(exc.stderr or b'')[-2000:]!r}")


def rendition_files(media_root: Path) -> set[str]:
    return {
        str(path.relative_to(media_root))
        for folder in ("thumbnails", "text-images")
        for path in (media_root / folder).rglob("*")
        if path.is_file()
    }


def jpeg_with_exif_date(seed: int, date: str) -> bytes:
    image = Image.open(io.BytesIO(image_bytes(seed)))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = date  # DateTimeOriginal
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


# --- Case 3: one malformed post failed the whole offline import ---------------------------------------------------

DEEP = 100_000  # JSON nesting: Python's parser gives up (RecursionError) far below this


def test_an_offline_import_with_hostile_posts_imports_every_good_one_and_skips_each_hostile_one(tmp_path):
    folder = OfflineFolder(tmp_path / "alice")
    good = [folder.post("Bgood000001"), folder.post("Bgood000002", kind="carousel", items=2)]
    hostile = {
        folder.post("Bdeep000001", raw=b'{"node": ' + b"[" * DEEP + b"]" * DEEP + b"}"): "nested too deeply",
        folder.post("Bdeep000002", raw=b"[" * DEEP + b"]" * DEEP, compressed=True): "nested too deeply",
        folder.post("Bcaption001", alter=node("edge_media_to_caption.edges.0.node.text", 12345)): "TypeError",
        folder.post("Bnodestr001", alter=lambda data: data.update(node="a string")): "cannot be read",
        folder.post("Bintcode001", alter=node("shortcode", 12345)): "AttributeError",
        folder.post("Bintdurl001", alter=node("display_url", 12345)): "AttributeError",
        folder.post("Biphone0001", alter=node("iphone_struct", "a string")): "AttributeError",
        folder.post("Btagged0001", alter=node("edge_media_to_tagged_user", [{"user": "x"}])): "AttributeError",
        folder.post(
            "Bedges00001", kind="carousel", items=2, alter=node("edge_sidecar_to_children.edges", "not a list")
        ): "AttributeError",
    }
    # A date that cannot be a datetime, or is no date a photo has: the post kept without it.
    dateless = [
        folder.post("Bhuge000001", alter=node("taken_at_timestamp", 1e20)),
        folder.post("Bwords00001", alter=node("taken_at_timestamp", "yesterday")),
        folder.post("B9999000001", alter=node("taken_at_timestamp", 253402300799)),
        folder.without_metadata("2019-02-30_10-00-00_UTC"),
    ]

    job, out, err = import_offline(folder.root)

    assert job.status == "succeeded", job.last_error
    imported = {
        "Bgood000001",
        "Bgood000002_1",
        "Bgood000002_2",
        "Bhuge000001",
        "Bwords00001",
        "B9999000001",
        "2019-02-30_10-00-00_UTC",
    }
    assert set(Photo.objects.values_list("source_id", flat=True)) == imported
    assert (job.imported, job.skipped, job.failed) == (len(imported), len(hostile), 0), job.problems
    reasons = dict(job.problems)
    for name, reason in hostile.items():
        file_name = next(f.name for f in folder.root.glob(f"{name}.json*"))
        assert reason in reasons[file_name], (file_name, reasons[file_name])
        assert f"skipped {file_name!r}: " in err  # the command's report names each one with its reason
    assert not Photo.objects.filter(
        source_id__in=["Bhuge000001", "Bwords00001", "B9999000001", "2019-02-30_10-00-00_UTC"], taken_at__isnull=False
    ).exists()
    assert Photo.objects.get(source_id="Bgood000001").taken_at == datetime.fromtimestamp(T0, UTC)
    assert f"alice: {len(imported)} imported, 0 updated, 0 unchanged, {len(hostile)} skipped" in out
    assert good and dateless

    # A rerun succeeds too: the good posts unchanged, the hostile ones skipped again.
    job, out, _ = import_offline(folder.root)
    assert job.status == "succeeded" and (job.unchanged, job.skipped) == (len(imported), len(hostile))


def test_a_folder_named_with_dates_that_do_not_exist_imports_every_file(photo_folder):
    folder = photo_folder({"2019-02-30_10-00-00_UTC.jpg": 1, "2019-13-01_10-00-00_UTC.jpg": 2, "fine.jpg": 3})

    out = StringIO()
    call_command("import_folder", str(folder), "--profile", "days", "--no-progress", "--no-embed", stdout=out)

    assert "days: 3 imported, 0 updated, 0 unchanged, 0 skipped" in out.getvalue()
    assert ImportJob.objects.get().status == "succeeded"
    assert not Photo.objects.filter(taken_at__isnull=False).exists()


def test_a_record_that_fails_in_any_way_is_skipped_with_its_reason_and_the_rest_imported():
    """Past the source, the ingest isolates each record too: a failure the code did not foresee (a type, recursion,
    overflow) is that record's."""
    profile = Profile.objects.create(source_kind="folder", handle="odd")
    failures = {
        "type.jpg": TypeError("unsupported operand"),
        "deep.jpg": RecursionError("maximum recursion depth"),
        "big.jpg": OverflowError("int too large to convert"),
    }

    def read(record: SourceRecord) -> bytes:
        if record.source_id in failures:
            raise failures[record.source_id]
        return image_bytes(1)

    seen: dict[str, tuple[str, str]] = {}
    records = [SourceRecord(source_id=name, image_path=Path(name)) for name in [*failures, "good.jpg"]]
    records_ingest(
        profile=profile,
        records=records,
        read=read,
        on_item=lambda record, outcome, reason: seen.__setitem__(record.source_id, (outcome, reason)),
    )

    assert seen["good.jpg"] == ("imported", "")
    for name, exc in failures.items():
        assert seen[name] == ("skipped", f"unusable data ({type(exc).__name__}: {exc})")
    assert list(Photo.objects.values_list("source_id", flat=True)) == ["good.jpg"]


def test_a_url_list_item_no_code_expects_is_skipped_and_the_rest_imported(tmp_path, settings, photo_folder):
    from tests.conftest import served_folder

    settings.PHOTOSEARCH_ALLOW_PRIVATE_URLS = True  # the test server lives on loopback
    with served_folder(photo_folder({"a.jpg": 1})) as web:
        urls = tmp_path / "urls.json"
        # instagram-scraper's shape with a list where the caption's object belongs (AttributeError before); a time
        # in year 9999 (stored before, and every page showing it broke).
        urls.write_text(
            json.dumps(
                [
                    {"url": f"{web}/a.jpg", "taken_at": 253402300799},
                    {"shortcode": "Bx", "display_url": f"{web}/a.jpg", "edge_media_to_caption": ["not an object"]},
                ]
            )
        )
        out = StringIO()
        call_command("import_urls", str(urls), "--profile", "blog", "--no-progress", "--no-embed", stdout=out)

    job = ImportJob.objects.get()
    assert job.status == "succeeded" and (job.imported, job.skipped) == (1, 1), job.problems
    assert job.problems == [
        ["item 2", "its data cannot be read (AttributeError: 'list' object has no attribute 'get')"]
    ]
    assert Photo.objects.get().taken_at is None


# --- Case 4: a .json.xz decompression bomb --------------------------------------------------------------------------


def bomb(size: int) -> bytes:
    """A valid instaloader post whose JSON is padded with ``size`` bytes of spaces, xz-compressed (256 MiB → 39 KB)."""
    saved = json.dumps(
        {"node": graphql_post("Bbomb000001", T0, "boom"), "instaloader": {"version": "4.16", "node_type": "Post"}}
    ).encode()
    compressor = lzma.LZMACompressor(preset=0)
    parts = [compressor.compress(saved[:-1])]
    chunk = b" " * (1 << 20)
    for _ in range(size >> 20):
        parts.append(compressor.compress(chunk))
    parts += [compressor.compress(b"}"), compressor.flush()]
    return b"".join(parts)


def test_a_json_xz_decompression_bomb_is_skipped_with_its_reason_and_memory_stays_bounded(tmp_path, media_root):
    folder = OfflineFolder(tmp_path / "alice")
    folder.post("Bgood000001")
    name = folder.post("Bbomb000001", raw=b"{}", compressed=True)
    (folder.root / f"{name}.json.xz").write_bytes(bomb(512 << 20))
    assert (folder.root / f"{name}.json.xz").stat().st_size < 200_000
    # Measured by a small parent of its own: a child's peak RSS counts its parent's at exec (this test process's,
    # which holds whatever earlier tests loaded); a grandchild of a small python counts only its own.
    run = manage(
        "-c",
        MEASURE_PEAK,
        sys.executable,
        "manage.py",
        "import_instagram",
        "alice",
        "--from-dir",
        str(folder.root),
        "--no-progress",
        "--no-embed",
        env=subprocess_env(media_root),
        python_only=True,
    )

    stdout, stderr = run.stdout, run.stderr
    peak_mib = int(stderr.rsplit("peak-rss-kib ", 1)[1].split()[0]) / 1024
    assert run.returncode == 0, stderr[-3000:]
    assert "alice: 1 imported, 0 updated, 0 unchanged, 1 skipped" in stdout, stdout
    assert (
        f"skipped '{name}.json.xz': its metadata cannot be read (it decompresses to over "
        f"{METADATA_MAX_BYTES:,} bytes)" in stderr
    ), stderr[-3000:]
    job = ImportJob.objects.get()
    assert job.status == "succeeded"
    # The bomb inflates to 512 MiB, held as bytes then as str before: over 1 GiB. The bounded read keeps the
    # import at its size with an 8 MiB bomb (274 MiB under the test settings; 112 MiB as a plain command).
    assert peak_mib < 400, f"peak RSS of the import: {peak_mib:.0f} MiB"
    print(f"\nimport_instagram with a 512 MiB .json.xz bomb: peak RSS {peak_mib:.0f} MiB")


# --- Case 5: implausible dates broke pages ---------------------------------------------------------------------------


def pages_of(live_server, photo: Photo) -> dict[str, int]:
    """Status of every page and API read that shows ``photo``'s date (the photo, a newest-first search, browse)."""
    from tests.support.api import call

    handle = photo.profile.handle
    return {
        path: call(live_server, "GET", path)[0]
        for path in (
            f"/photos/{photo.pk}/",
            f"/api/v1/photos/{photo.pk}/",
            "/?q=harbour&sort=newest",
            "/api/v1/search/?q=harbour&sort=newest",
            f"/?profile={handle}",
            f"/?profile={handle}&sort=newest",
            "/profiles/",
        )
    }


def test_dates_no_photo_can_have_are_dropped_at_import_and_every_page_answers(
    live_server, settings, tmp_path, photo_folder
):
    settings.TIME_ZONE = "Asia/Tokyo"  # what PHOTOSEARCH_TIME_ZONE sets: localtime() overflowed at year 9999
    folder = photo_folder(
        {
            "0001-01-01_00-00-00_UTC.jpg": 1,
            "0001-01-01_00-00-00_UTC.txt": "harbour",
            "1800-06-01_00-00-00_UTC.jpg": 2,
            "1800-06-01_00-00-00_UTC.txt": "harbour",
            "old-exif.jpg": jpeg_with_exif_date(3, "1800:01:01 10:00:00"),
            "old-exif.txt": "harbour",
            # The name's year-1 stamp is dropped: the image's own EXIF date is the next source.
            "0001-01-01_00-00-01_UTC.jpg": jpeg_with_exif_date(4, "2019:07:14 10:00:00"),
        }
    )
    call_command("import_folder", str(folder), "--profile", "old", "--no-progress", "--no-embed", stdout=StringIO())
    offline = OfflineFolder(tmp_path / "alice")
    offline.post("B9999000001", alter=node("taken_at_timestamp", 253402300799))
    offline.without_metadata("9999-12-31_23-59-59_UTC")
    (offline.root / "9999-12-31_23-59-59_UTC.txt").write_text("harbour")
    import_offline(offline.root)

    assert Photo.objects.count() == 6
    dated = {p.source_id: (p.taken_at, p.taken_at_source) for p in Photo.objects.exclude(taken_at=None)}
    assert dated == {"0001-01-01_00-00-01_UTC.jpg": (datetime(2019, 7, 14, 1, tzinfo=UTC), "exif")}
    for photo in Photo.objects.all():
        statuses = pages_of(live_server, photo)
        assert set(statuses.values()) == {200}, (photo.source_id, [item for item in statuses.items() if item[1] != 200])


def test_the_migration_clears_implausible_dates_already_stored_and_the_pages_answer_again(
    live_server, settings, photo_folder
):
    migration = importlib.import_module("profiles.migrations.0007_implausible_dates_cleared")
    settings.TIME_ZONE = "Asia/Tokyo"
    folder = photo_folder(
        {"a.jpg": 1, "a.txt": "harbour", "b.jpg": 2, "b.txt": "harbour", "c.jpg": 3, "c.txt": "harbour"}
    )
    call_command("import_folder", str(folder), "--profile", "stored", "--no-progress", "--no-embed", stdout=StringIO())
    # Rows an earlier version stored: year 9999, year 1, and a date that is fine.
    stored = {
        "a.jpg": datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        "b.jpg": datetime(1, 1, 1, tzinfo=UTC),
        "c.jpg": datetime(2019, 7, 14, tzinfo=UTC),
    }
    for source_id, moment in stored.items():
        Photo.objects.filter(source_id=source_id).update(taken_at=moment, taken_at_source="source")
    broken = pages_of(live_server, Photo.objects.get(source_id="a.jpg"))
    assert 500 in broken.values() or 400 in broken.values(), broken  # what the stored rows did before the migration

    with connection.schema_editor() as editor:
        migration.clear_implausible_dates(None, editor)

    assert dict(Photo.objects.values_list("source_id", "taken_at")) == {
        "a.jpg": None,
        "b.jpg": None,
        "c.jpg": stored["c.jpg"],
    }
    assert set(Photo.objects.values_list("taken_at_source", flat=True)) == {"", "source"}
    for photo in Photo.objects.all():
        statuses = pages_of(live_server, photo)
        assert set(statuses.values()) == {200}, (photo.source_id, [item for item in statuses.items() if item[1] != 200])


# --- Case 8: a profile deleted during its import -------------------------------------------------------------------


def test_deleting_a_profile_during_its_import_stops_it_cleanly_and_leaves_no_orphan_file(tmp_path, media_root):
    folder = tmp_path / "big"
    folder.mkdir()
    big = image_bytes(1, size=(3000, 2250))
    for i in range(100):  # ~0.1 s each to check and shrink: the import runs for seconds
        (folder / f"{i:03}.jpg").write_bytes(big + i.to_bytes(4, "big"))  # distinct bytes after the JPEG's end
    args = [
        sys.executable,
        "manage.py",
        "import_folder",
        str(folder),
        "--profile",
        "doomed",
        "--no-progress",
        "--no-embed",
    ]
    process = subprocess.Popen(
        args, cwd=ROOT, env=subprocess_env(media_root), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while Photo.objects.filter(profile__handle="doomed").count() < 5:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the import never got going"
            time.sleep(0.05)
        Profile.objects.get(handle="doomed").delete()  # as the admin does: its photos and jobs go with it
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 1, (out, err[-3000:])
    assert "doomed was deleted while" in err and "the import stopped" in err, err[-3000:]
    assert "Traceback" not in err and "did not affect any rows" not in err, err[-3000:]
    assert not Profile.objects.exists() and not Photo.objects.exists() and not ImportJob.objects.exists()
    assert rendition_files(media_root) == set(), "renditions left that no photo uses"


# --- Case 10 (file names): a name that is not UTF-8 was always skipped --------------------------------------------


def test_file_names_that_are_not_utf8_are_imported_under_a_display_safe_id_and_shown(live_server, tmp_path):
    from tests.support.api import call

    folder = tmp_path / "card"
    folder.mkdir()
    os.mkdir(os.fsencode(folder) + b"/\xe9t\xe9")  # a Latin-1 folder name
    files = {
        b"caf\xe9.jpg": image_bytes(1),
        b"\xe9t\xe9/plage \xff.jpg": image_bytes(2),
        b"ok.jpg": image_bytes(3),
        # The text "\xff.jpg" (a backslash, x, f, f) is also a real name here: the Latin-1 "ÿ.jpg" that reads
        # the same must not be imported over it.
        b"\\xff.jpg": image_bytes(4),
        b"\xff.jpg": image_bytes(5),
    }
    for name, data in files.items():
        Path(os.fsdecode(os.fsencode(folder) + b"/" + name)).write_bytes(data)
    Path(os.fsdecode(os.fsencode(folder) + b"/caf\xe9.txt")).write_text("caf\u00e9 au bord de l'eau")

    out, err = StringIO(), StringIO()
    call_command(
        "import_folder", str(folder), "--profile", "card", "--no-progress", "--no-embed", stdout=out, stderr=err
    )

    job = ImportJob.objects.get()
    assert job.status == "succeeded" and (job.imported, job.skipped) == (4, 1), job.problems
    assert set(Photo.objects.values_list("source_id", flat=True)) == {
        "caf\\xe9.jpg",
        "\\xe9t\\xe9/plage \\xff.jpg",
        "ok.jpg",
        "\\xff.jpg",
    }
    assert [source_id for source_id, _ in job.problems] == ["\\xff.jpg"] and "rename one" in job.problems[0][1]
    assert Photo.objects.get(source_id="\\xff.jpg").original_url == str(folder) + "/\\xff.jpg"  # the first, kept
    latin = Photo.objects.get(source_id="caf\\xe9.jpg")
    assert latin.source_text == "café au bord de l'eau"  # its sidecar, found by its own non-UTF-8 name
    assert latin.original_url == str(folder) + "/caf\\xe9.jpg"
    assert Image.open(media_root_path(latin)).size[0] > 0
    status, _, body = call(live_server, "GET", f"/photos/{latin.pk}/")
    assert status == 200 and b"caf\\xe9.jpg" in body.replace(b"&#x27;", b"'")
    # A rerun finds the same ids: nothing new, nothing changed.
    call_command("import_folder", str(folder), "--profile", "card", "--no-progress", "--no-embed", stdout=out)
    assert ImportJob.objects.latest("pk").unchanged == 4 and Photo.objects.count() == 4


def media_root_path(photo: Photo) -> str:
    return photo.thumbnail.path
