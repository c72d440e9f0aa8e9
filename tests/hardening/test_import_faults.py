"""Faults during import and indexing: kill -9 of real `manage.py` processes against the real database, a full disk
and a failing storage on thumbnail write. After each, a rerun ends with exactly what a clean run gives: the same
rows, no duplicates, no thumbnail file that no row uses, no photo embedded twice.

Each kill test runs in a reduced form by default and in full with ``-m slow`` (docs/reliability.md).
"""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from PIL import Image

from profiles.models import ImportJob, Photo, Profile
from profiles.services.imports import folder_import
from profiles.thumbnails import thumbnails_prune
from tests.conftest import image_bytes
from tests.hardening.conftest import ROOT, subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)

ROW = ("source_id", "content_hash", "thumbnail", "width", "height", "taken_at", "source_text", "media_type")


def rows(profile: str) -> list[tuple]:
    return sorted(
        (*values, dup)
        for *values, dup in Photo.objects.filter(profile__handle=profile).values_list(*ROW, "duplicate_of__source_id")
    )


def stored_thumbnails(media_root: Path) -> set[str]:
    return {str(path.relative_to(media_root)) for path in (media_root / "thumbnails").rglob("*") if path.is_file()}


def assert_thumbnails_whole_and_all_used(media_root: Path) -> None:
    used = set(Photo.objects.values_list("thumbnail", flat=True))
    assert stored_thumbnails(media_root) == used, "a thumbnail file no row uses, or a row without its file"
    for name in used:
        with Image.open(media_root / name) as image:
            image.load()  # a partial file fails here


def manage(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the process ended before {what}: {process.stdout.read()[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def kill_9(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert process.returncode == -signal.SIGKILL


# --- kill -9 during an import -------------------------------------------------------------------------------------

SIZES = [pytest.param(16, id="reduced"), pytest.param(80, id="full", marks=pytest.mark.slow)]


@pytest.mark.parametrize("photos", SIZES)
def test_an_import_killed_mid_run_then_rerun_equals_a_clean_run(photo_folder, media_root, photos):
    # Big enough images that each takes a while to check and shrink; a few repeats and text files too.
    folder = photo_folder({f"{i:03}.jpg": i for i in range(photos)} | {"005.txt": "words of five"})
    for i in range(0, photos, 7):
        (folder / f"{i:03}.jpg").write_bytes(image_bytes(i, size=(2400, 1800)))
    (folder / "repeat.jpg").write_bytes((folder / "001.jpg").read_bytes())
    env = subprocess_env(media_root)
    args = ("import_folder", str(folder), "--profile", "trip", "--no-progress", "--no-embed")

    first = manage(*args, env=env)
    wait_for(lambda: Photo.objects.filter(profile__handle="trip").count() >= 3, 120, "the first rows", first)
    kill_9(first)
    at_kill = Photo.objects.count()
    assert 0 < at_kill < photos + 1, at_kill
    killed = ImportJob.objects.get()
    assert killed.status == ImportJob.Status.RUNNING  # as the killed process left it

    rerun = manage(*args, env=env)
    output = rerun.communicate(timeout=300)[0]
    assert rerun.returncode == 0, output  # not "another import is running" for ten minutes
    assert f"{photos + 1 - at_kill} imported, 0 updated, {at_kill} unchanged, 0 skipped" in output, output
    killed.refresh_from_db()
    assert killed.status == ImportJob.Status.INTERRUPTED and "stopped" in killed.last_error

    folder_import(path=folder, profile_name="clean")  # the same folder, never interrupted
    assert rows("trip") == rows("clean")
    assert len(rows("trip")) == photos + 1
    assert Photo.objects.filter(profile__handle="trip").values("source_id").distinct().count() == photos + 1
    assert Photo.objects.get(profile__handle="trip", source_id="repeat.jpg").duplicate_of.source_id == "001.jpg"
    assert_thumbnails_whole_and_all_used(media_root)


# --- kill -9 during embedding ----------------------------------------------------------------------------------------

EMBED_SIZES = [pytest.param(20, id="reduced"), pytest.param(64, id="full", marks=pytest.mark.slow)]


@pytest.mark.parametrize("photos", EMBED_SIZES)
def test_embedding_killed_mid_run_then_rerun_embeds_each_photo_once(photo_folder, media_root, photos):
    folder_import(path=photo_folder({f"{i:03}.jpg": i for i in range(photos)}), profile_name="trip")
    # ViT-B-32 (random weights: the real FLOPs) on CPU, two photos a batch: slow enough to be killed in the middle.
    env = subprocess_env(media_root, PHOTOSEARCH_CLIP_MODEL="ViT-B-32", PHOTOSEARCH_CAPTIONER="none")
    args = ("embed_photos", "--batch-size", "2", "--no-progress")

    first = manage(*args, env=env)
    wait_for(lambda: Photo.objects.filter(embedding__isnull=False).exists(), 300, "the first committed chunk", first)
    kill_9(first)
    before = dict(Photo.objects.filter(embedding__isnull=False).values_list("id", "embedded_at"))
    assert 0 < len(before) < photos, len(before)

    rerun = manage(*args, env=env)
    output = rerun.communicate(timeout=540)[0]

    assert rerun.returncode == 0, output
    assert f"{photos - len(before)} embedded with ViT-B-32/random-seed0, 0 failed" in output, output
    after = dict(Photo.objects.values_list("id", "embedded_at"))
    assert all(after[photo_id] == embedded_at for photo_id, embedded_at in before.items())  # not redone
    assert set(Photo.objects.values_list("embedding_model", flat=True)) == {"ViT-B-32/random-seed0"}
    assert Photo.objects.count() == photos


# --- Storage failures on thumbnail write ----------------------------------------------------------------------------


class DiskFullStorage(FileSystemStorage):
    """The disk fills up half-way through each thumbnail: part of the file is on disk when the write fails, as
    with a real ENOSPC."""

    def _save(self, name, content):
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.read()
        with open(path, "wb") as fh:
            fh.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


class StorageDownStorage(FileSystemStorage):
    """A remote bucket that refuses writes (S3 through django-storages raises its own errors, not OSError)."""

    def _save(self, name, content):
        raise RuntimeError("503 Slow Down")


@pytest.mark.parametrize(
    "backend, reason", [("DiskFullStorage", "No space left on device"), ("StorageDownStorage", "503 Slow Down")]
)
def test_a_failed_thumbnail_write_leaves_no_row_no_file_and_a_rerun_imports_everything(
    photo_folder, media_root, settings, backend, reason
):
    folder = photo_folder({"a.jpg": 1, "b.jpg": 2, "c.jpg": 3})
    default = settings.STORAGES["default"]
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.{backend}"}}

    job = folder_import(path=folder, profile_name="trip")

    assert (job.status, job.imported, job.failed, job.skipped) == ("succeeded", 0, 3, 0)
    assert all(r.startswith("cannot store thumbnail (") and reason in r for _, r in job.problems), job.problems
    assert not Photo.objects.exists()
    assert stored_thumbnails(media_root) == set()  # the half-written files are gone too

    settings.STORAGES = {**settings.STORAGES, "default": default}  # space freed
    again = folder_import(path=folder, profile_name="trip")

    assert (again.imported, again.failed) == (3, 0)
    assert_thumbnails_whole_and_all_used(media_root)


def test_a_partial_thumbnail_left_by_a_crash_is_replaced_not_reused(photo_folder, media_root):
    folder = photo_folder({"a.jpg": 1})
    folder_import(path=folder, profile_name="first")
    name = Photo.objects.get().thumbnail.name
    whole = (media_root / name).read_bytes()
    Photo.objects.all().delete()
    (media_root / name).write_bytes(whole[:1000])  # what a kill in the middle of the write leaves

    folder_import(path=folder, profile_name="second")

    assert (media_root / Photo.objects.get().thumbnail.name).read_bytes() == whole
    assert_thumbnails_whole_and_all_used(media_root)


def test_prune_deletes_the_thumbnails_of_deleted_photos_and_keeps_fresh_and_used_ones(photo_folder, media_root):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2}), profile_name="keep")
    folder_import(path=photo_folder({"c.jpg": 3, "a.jpg": 1}, name="gone"), profile_name="gone")
    shared = Photo.objects.get(profile__handle="keep", source_id="a.jpg").thumbnail.name
    only_gone = Photo.objects.get(profile__handle="gone", source_id="c.jpg").thumbnail.name
    Profile.objects.get(handle="gone").delete()  # the admin's delete: rows go, files stay
    old = time.time() - 7200
    os.utime(media_root / only_gone, (old, old))
    os.utime(media_root / shared, (old, old))
    fresh = media_root / "thumbnails" / "ff" / ("f" * 64 + ".jpg")  # an import's file whose row is not committed
    fresh.parent.mkdir(parents=True, exist_ok=True)
    fresh.write_bytes(b"x")

    assert thumbnails_prune(older_than=timedelta(hours=1)) == [only_gone]

    assert stored_thumbnails(media_root) == set(Photo.objects.values_list("thumbnail", flat=True)) | {
        str(fresh.relative_to(media_root))
    }
    fresh.unlink()
    assert_thumbnails_whole_and_all_used(media_root)


def test_the_prune_command_reports_what_it_deleted(photo_folder, media_root):
    from django.core.management import call_command

    folder_import(path=photo_folder({"a.jpg": 1}), profile_name="gone")
    Profile.objects.all().delete()
    out = io.StringIO()

    call_command("prune_thumbnails", "--min-age", "0", stdout=out)

    assert "1 unused thumbnails deleted." in out.getvalue()
    assert stored_thumbnails(media_root) == set()
