"""The faces stage on real photos of faces (tests/data/faces): what it stores, what it leaves alone on a second run,
what it redoes, and how it runs from embed_photos and from the Celery path."""

from __future__ import annotations

import io
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from profiles.models import Photo
from search.models import Face, FaceScan
from search.services.faces import photos_find_faces
from tests.search.people import folder_import, folder_of, identities, photo_named, photos_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def faces_on(settings):
    settings.PHOTOSEARCH_FACES = "dlib"
    settings.PHOTOSEARCH_OCR = "none"
    return settings


@pytest.fixture
def imported(faces_on, tmp_path, photo_folder):
    """Two photos of one person, one of another, and a photo without a face (a generated picture of shapes)."""
    first, second = identities(at_least=2)[:2]
    names = [*photos_of(first)[:2], photos_of(second)[0]]
    folder = folder_of(tmp_path / "faces", names)
    (folder / "shapes.jpg").write_bytes((photo_folder({"shapes.jpg": 7}, name="shapes") / "shapes.jpg").read_bytes())
    folder_import(folder)
    return names


def test_the_stage_finds_the_faces_and_keeps_a_small_picture_of_each(imported):
    summary = photos_find_faces()

    assert (summary.scanned, summary.with_faces, summary.failed) == (4, 3, [])
    for name in imported:
        scan = photo_named(name).face_scan
        faces = list(Face.objects.filter(photo__source_id__endswith=name))
        assert scan.face_count == len(faces) >= 1 and scan.error == "" and scan.engine == summary.engine_id
        for face in faces:
            assert 0 <= face.x < 1 and 0 <= face.y < 1 and 0 < face.w <= 1 and 0 < face.h <= 1
            assert len(face.descriptor) == 128 and face.engine == summary.engine_id and face.person_id is None
            with default_storage.open(face.crop) as fh:
                crop = Image.open(io.BytesIO(fh.read()))
            assert crop.format == "JPEG" and max(crop.size) == 96
    empty = photo_named("shapes.jpg")
    assert (empty.face_scan.face_count, empty.faces.count()) == (0, 0)


def test_faces_are_found_in_the_kept_rendition_also_while_ocr_is_off(imported):
    """The 1,024-px rendition is kept for faces as it is for OCR: the faces stage analyses it, not the thumbnail."""
    photos = Photo.objects.exclude(source_id="shapes.jpg")
    assert all(photo.text_image.name for photo in photos if max(photo.width, photo.height) > 512)
    photos_find_faces()

    assert sorted(FaceScan.objects.values_list("image", flat=True)) == sorted(
        photo.text_image.name or photo.thumbnail.name for photo in Photo.objects.all()
    )


def test_a_second_run_does_nothing(imported):
    photos_find_faces()
    before = sorted(Face.objects.values_list("id", "crop"))

    again = photos_find_faces()

    assert (again.scanned, again.failed) == (0, [])
    assert sorted(Face.objects.values_list("id", "crop")) == before


def test_a_changed_engine_redoes_only_the_photos_it_did_not_read(imported, django_capture_on_commit_callbacks):
    photos_find_faces()
    stale = photo_named(imported[0])
    FaceScan.objects.filter(photo=stale).update(engine="dlib-19.0/hog/old")
    old_crops = list(Face.objects.filter(photo=stale).values_list("crop", flat=True))
    others = sorted(Face.objects.exclude(photo=stale).values_list("id", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        redone = photos_find_faces()

    assert redone.scanned == 1
    assert sorted(Face.objects.exclude(photo=stale).values_list("id", flat=True)) == others
    assert Face.objects.filter(photo=stale).count() == len(old_crops)
    assert not set(Face.objects.filter(photo=stale).values_list("crop", flat=True)) & set(old_crops)
    assert not any(default_storage.exists(name) for name in old_crops)  # released with the replaced faces


def test_a_photo_whose_image_cannot_be_read_is_recorded_with_the_reason_and_skipped(imported):
    broken = photo_named(imported[2])
    default_storage.delete(broken.text_image.name or broken.thumbnail.name)

    summary = photos_find_faces()
    again = photos_find_faces()

    assert [photo_id for photo_id, _ in summary.failed] == [broken.pk] and summary.scanned == 3
    scan = FaceScan.objects.get(photo=broken)
    assert "cannot read image" in scan.error and scan.face_count == 0
    assert (again.scanned, again.failed) == (0, [])
    assert [photo_id for photo_id, _ in photos_find_faces(retry_failed=True).failed] == [broken.pk]


def test_deleting_a_photo_deletes_its_faces_and_their_pictures(imported, django_capture_on_commit_callbacks):
    photos_find_faces()
    photo = photo_named(imported[0])
    crops = list(photo.faces.values_list("crop", flat=True))
    assert crops and all(default_storage.exists(name) for name in crops)

    with django_capture_on_commit_callbacks(execute=True):
        photo.delete()

    assert not Face.objects.filter(crop__in=crops).exists()
    assert not any(default_storage.exists(name) for name in crops)


def test_embed_photos_finds_the_faces_after_the_words_and_groups_them(imported, encoder):
    out = StringIO()

    call_command("embed_photos", "--no-progress", stdout=out, stderr=StringIO())
    again = StringIO()
    call_command("embed_photos", "--no-progress", stdout=again, stderr=StringIO())

    assert "4 looked at with dlib-" in out.getvalue() and "(3 with faces" in out.getvalue()
    assert "new persons" in out.getvalue()
    assert "0 looked at with dlib-" in again.getvalue()
    assert FaceScan.objects.count() == 4


def test_embed_photos_leaves_the_faces_when_asked_or_when_faces_are_off(imported, encoder, settings):
    call_command("embed_photos", "--no-progress", "--no-faces", stdout=StringIO(), stderr=StringIO())
    assert not FaceScan.objects.exists()

    settings.PHOTOSEARCH_FACES = "none"
    out = StringIO()
    call_command("embed_photos", "--no-progress", stdout=out, stderr=StringIO())
    assert not FaceScan.objects.exists() and "looked at" not in out.getvalue()


def test_the_celery_path_finds_the_faces_after_the_embeddings(imported, encoder):
    from search.tasks import embed_photos_task

    summary = embed_photos_task.delay().get()

    assert summary["faces_photos"] == 4 and summary["faces"].startswith("dlib-")
    assert FaceScan.objects.count() == 4 and Face.objects.count() >= 3
