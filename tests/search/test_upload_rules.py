"""One set of rules for a query image, whether it comes through the page or the API: the declared type (a hint: the
bytes decide) and the cutoff's range."""

from __future__ import annotations

import pytest

from profiles.services.imports import folder_import
from search.services.embedding import photos_embed
from tests.conftest import image_bytes
from tests.support.api import api, assert_error, multipart

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def library(photo_folder, encoder):
    folder_import(path=photo_folder({"a.jpg": 1, "b.jpg": 2}), profile_name="coast")
    photos_embed()


def _api_upload(live_server, *, name: str, content_type: str | None, data: bytes, **fields):
    body, form_type = multipart(fields, {"image": (name, content_type, data)})
    return api(live_server, "POST", "/api/v1/search/by-image/", body=body, content_type=form_type)


def _page_upload(client, *, name: str, content_type: str | None, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post("/search/image/", {"image": upload})


def test_a_declared_type_that_is_no_image_is_refused_alike_by_page_and_api(live_server, client, library):
    page = _page_upload(client, name="a.html", content_type="text/html", data=image_bytes(1))
    status, _, body = _api_upload(live_server, name="a.html", content_type="text/html", data=image_bytes(1))

    sentence = "“a.html” is not an image (text/html)."
    assert page.status_code == 400 and sentence in page.content.decode()
    assert status == 400 and body["error"] == f"image: {sentence}"
    assert_error(body, "image")


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "image/jpeg"])
def test_an_image_whatever_its_declared_type_is_searched_by_page_and_api(live_server, client, library, content_type):
    page = _page_upload(client, name="query", content_type=content_type, data=image_bytes(1))
    status, _, body = _api_upload(live_server, name="query", content_type=content_type, data=image_bytes(1))

    assert page.status_code == 200
    assert status == 200 and body["results"], body


def test_the_api_takes_the_cutoffs_the_search_takes(live_server, library):
    status, _, body = _api_upload(
        live_server, name="q.jpg", content_type="image/jpeg", data=image_bytes(1), cutoff="1.5"
    )
    assert status == 200, body

    status, _, body = _api_upload(
        live_server, name="q.jpg", content_type="image/jpeg", data=image_bytes(1), cutoff="2.5"
    )
    assert status == 400
    assert_error(body, "cutoff")
