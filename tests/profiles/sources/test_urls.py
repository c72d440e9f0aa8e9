"""UrlListSource: format detection, records, errors. Downloads are faked (or mocked with ``responses``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses

from profiles.fetch import FetchError
from profiles.sources.base import SourceError, SourceNotFound
from profiles.sources.urls import UrlListSource
from tests.conftest import image_bytes

UTC = UTC


@pytest.fixture
def write(tmp_path):
    def write(content: str | bytes | object, name: str = "list") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(json.dumps(content), encoding="utf-8")
        return path

    return write


def records_of(path: Path) -> list:
    return list(UrlListSource(path).records())


# -- (a) a JSON list of URLs -------------------------------------------------------------------------------------------


def test_a_json_list_of_urls(write):
    path = write(["https://img.example/a.jpg", "https://img.example/b.jpg#section", "  ", "http://img.example/c.png"])

    records = records_of(path)

    assert [r.source_id for r in records] == [
        "https://img.example/a.jpg",
        "https://img.example/b.jpg",  # the fragment is not part of the id
        "http://img.example/c.png",
    ]
    assert records[1].image_url == "https://img.example/b.jpg#section"
    assert all(r.image_path is None and r.text == "" and r.taken_at is None for r in records)


# -- (b) a JSON list of objects ----------------------------------------------------------------------------------------


def test_a_json_list_of_objects_with_captions_times_and_ids(write):
    path = write(
        [
            {
                "url": "https://img.example/a.jpg",
                "caption": "Sunset at the #Beach with #friends #beach",
                "taken_at": "2021-06-01T18:30:00+02:00",
                "permalink": "https://blog.example/posts/1",
                "id": "post-1",
            },
            {"url": "https://img.example/b.jpg", "text": "No tags here", "taken_at": 1622572200},
            {"url": "https://img.example/c.jpg", "taken_at": "2021-06-01T18:30:00Z", "tags": ["Holiday", "#sea"]},
            {"url": "https://img.example/d.jpg#x", "taken_at": "2021-06-01 18:30", "permalink": "javascript:alert(1)"},
            {"url": "https://img.example/e.jpg", "taken_at": "1622572200", "id": 17, "alt_text": "a red boat"},
        ]
    )

    a, b, c, d, e = records_of(path)

    assert (a.source_id, a.image_url, a.permalink) == (
        "post-1",
        "https://img.example/a.jpg",
        "https://blog.example/posts/1",
    )
    assert a.text == "Sunset at the #Beach with #friends #beach"
    assert a.hashtags == ("beach", "friends")
    assert a.taken_at == datetime(2021, 6, 1, 16, 30, tzinfo=UTC)
    assert a.taken_at.utcoffset().total_seconds() == 0

    assert (b.source_id, b.text, b.hashtags) == ("https://img.example/b.jpg", "No tags here", ())
    assert b.taken_at == datetime(2021, 6, 1, 18, 30, tzinfo=UTC)

    assert c.taken_at == datetime(2021, 6, 1, 18, 30, tzinfo=UTC)
    assert c.hashtags == ("holiday", "sea")

    assert d.source_id == "https://img.example/d.jpg"
    assert d.taken_at == datetime(2021, 6, 1, 18, 30, tzinfo=UTC)  # no zone: read as UTC
    assert d.permalink == ""  # only http(s) links are kept

    assert (e.source_id, e.alt_text) == ("17", "a red boat")
    assert e.taken_at == datetime(2021, 6, 1, 18, 30, tzinfo=UTC)


def test_strings_and_objects_can_be_mixed(write):
    path = write(["https://img.example/a.jpg", {"url": "https://img.example/b.jpg", "caption": "hi"}])

    assert [(r.source_id, r.text) for r in records_of(path)] == [
        ("https://img.example/a.jpg", ""),
        ("https://img.example/b.jpg", "hi"),
    ]


# -- (c) plain text ----------------------------------------------------------------------------------------------------


def test_plain_text_one_url_per_line(write):
    path = write(
        "\ufeff# my favourite pictures\n"
        "https://img.example/a.jpg\n"
        "\n"
        "   https://img.example/b.jpg#top   \r\n"
        "  # indented comment\n"
        "http://img.example/c.jpg\n"
    )

    records = records_of(path)

    assert [r.source_id for r in records] == [
        "https://img.example/a.jpg",
        "https://img.example/b.jpg",
        "http://img.example/c.jpg",
    ]


def test_an_empty_file_has_no_records(write):
    assert records_of(write("")) == []
    assert records_of(write("# nothing yet\n\n", name="other")) == []


# -- (d) instagram-scraper metadata ------------------------------------------------------------------------------------


def _post(shortcode: str, **fields) -> dict:
    post = {
        "__typename": "GraphImage",
        "shortcode": shortcode,
        "display_url": f"https://scontent.cdninstagram.com/{shortcode}.jpg",
        "urls": [f"https://scontent.cdninstagram.com/{shortcode}.jpg"],
        "edge_media_to_caption": {"edges": [{"node": {"text": f"Post {shortcode} #Sea #sun"}}]},
        "taken_at_timestamp": 1622572200,
        "is_video": False,
        "edge_media_preview_like": {"count": 12},
        "tags": ["Sea", "sun"],
        "username": "ann",
    }
    post.update(fields)
    return post


INSTAGRAM = {
    "GraphImages": [
        _post("SINGLE1", accessibility_caption="Photo of a boat."),
        _post(
            "CAROUSEL",
            __typename="GraphSidecar",
            urls=[
                "https://scontent.cdninstagram.com/c1.jpg",
                "https://scontent.cdninstagram.com/c2.mp4",
                "https://scontent.cdninstagram.com/c3.jpg",
            ],
            tags=["extra"],
        ),
        _post(
            "VIDEO1",
            __typename="GraphVideo",
            is_video=True,
            display_url="https://scontent.cdninstagram.com/video-cover.jpg",
            urls=["https://scontent.cdninstagram.com/video.mp4"],
            edge_media_to_caption={"edges": []},
            tags=None,
        ),
    ],
    "GraphProfileInfo": {"username": "ann", "info": {"full_name": "Ann"}},
}


def test_instagram_scraper_metadata(write):
    records = records_of(write(INSTAGRAM))

    assert [r.source_id for r in records] == ["SINGLE1", "CAROUSEL_1", "CAROUSEL_2", "CAROUSEL_3", "VIDEO1"]

    single = records[0]
    assert single.image_url == "https://scontent.cdninstagram.com/SINGLE1.jpg"
    assert single.permalink == "https://www.instagram.com/p/SINGLE1/"
    assert single.text == "Post SINGLE1 #Sea #sun"
    assert single.hashtags == ("sea", "sun")
    assert single.taken_at == datetime(2021, 6, 1, 18, 30, tzinfo=UTC)
    assert single.likes == 12 and single.alt_text == "Photo of a boat."
    assert single.extra == {"post": "SINGLE1", "owner": "ann"} and single.media_type == "image"

    carousel = records[1:4]
    assert [r.image_url for r in carousel] == [
        "https://scontent.cdninstagram.com/c1.jpg",
        "https://scontent.cdninstagram.com/c2.mp4",
        "https://scontent.cdninstagram.com/c3.jpg",
    ]
    assert {r.permalink for r in carousel} == {"https://www.instagram.com/p/CAROUSEL/"}
    assert [r.extra for r in carousel] == [{"post": "CAROUSEL", "owner": "ann", "index": i} for i in (1, 2, 3)]
    assert all(r.text == "Post CAROUSEL #Sea #sun" for r in carousel)
    assert carousel[0].hashtags == ("sea", "sun", "extra")
    assert [r.media_type for r in carousel] == ["image", "video", "image"]

    video = records[4]
    assert video.image_url == "https://scontent.cdninstagram.com/video-cover.jpg"  # the cover, not the .mp4
    assert video.media_type == "video" and video.text == "" and video.hashtags == ()


def test_older_instagram_scraper_output_is_a_bare_list_of_posts(write):
    records = records_of(
        write([_post("A1"), _post("B2", urls=[], display_url="https://scontent.cdninstagram.com/b.jpg")])
    )

    assert [(r.source_id, r.image_url) for r in records] == [
        ("A1", "https://scontent.cdninstagram.com/A1.jpg"),
        ("B2", "https://scontent.cdninstagram.com/b.jpg"),
    ]


def test_a_carousel_keeps_item_numbers_even_with_one_url(write):
    """A sidecar that lists a single URL is still item 1, as the Instagram importer counts."""
    sidecar = _post("SIDE", __typename="GraphSidecar", urls=["https://scontent.cdninstagram.com/only.jpg"])

    (record,) = records_of(write({"GraphImages": [sidecar]}))

    assert record.source_id == "SIDE_1" and record.extra["index"] == 1


# -- read --------------------------------------------------------------------------------------------------------------


def test_read_downloads_through_the_injected_fetch(write):
    asked = []
    source = UrlListSource(write(["https://img.example/a.jpg"]), fetch=lambda url: asked.append(url) or b"jpeg")

    (record,) = source.records()

    assert source.read(record) == b"jpeg" and asked == ["https://img.example/a.jpg"]


@responses.activate
def test_read_uses_the_guarded_fetcher_by_default(write):
    jpeg = image_bytes(5)
    responses.get("https://img.example/a.jpg", body=jpeg, content_type="image/jpeg")
    responses.get("https://img.example/page.html", body="<html></html>", content_type="text/html")
    source = UrlListSource(write("https://img.example/a.jpg\nhttps://img.example/page.html\n"))

    image, page = source.records()

    assert source.read(image) == jpeg
    with pytest.raises(FetchError, match="not an image"):
        source.read(page)


@pytest.mark.parametrize("entry", ["ftp://files.example/a.jpg", "file:///etc/passwd", "photos/a.jpg", "data:,hello"])
def test_an_entry_that_is_not_an_http_url_is_yielded_and_skipped_at_read(write, entry):
    asked = []
    source = UrlListSource(write(["https://img.example/ok.jpg", entry]), fetch=lambda url: asked.append(url) or b"x")

    ok, odd = source.records()

    assert odd.source_id == "item 2" and odd.image_url == entry  # its place in the file, not its content
    with pytest.raises(FetchError, match="not an http\\(s\\) URL"):
        source.read(odd)
    assert source.read(ok) == b"x"
    assert asked == ["https://img.example/ok.jpg"]  # the odd entry never reached the fetcher


# -- ids ---------------------------------------------------------------------------------------------------------------


def test_a_repeated_id_is_yielded_once(write):
    path = write(
        [
            "https://img.example/a.jpg",
            "https://img.example/a.jpg#again",
            {"url": "https://img.example/b.jpg", "id": "https://img.example/a.jpg"},
        ]
    )

    assert [r.image_url for r in records_of(path)] == ["https://img.example/a.jpg"]


def test_a_very_long_url_gets_a_hashed_id_that_fits_the_column(write):
    url = "https://img.example/" + "a" * 600 + ".jpg"

    (record,) = records_of(write([url]))

    assert record.source_id.startswith("url-sha256:") and len(record.source_id) <= 512
    assert record.image_url == url
    assert records_of(write([url], name="again"))[0].source_id == record.source_id  # stable


# -- errors ------------------------------------------------------------------------------------------------------------


def test_a_missing_file_is_not_found(tmp_path):
    with pytest.raises(SourceNotFound, match="does not exist"):
        records_of(tmp_path / "nope.txt")


def test_a_folder_is_an_error(tmp_path):
    with pytest.raises(SourceError, match="is a folder"):
        records_of(tmp_path)


def test_bad_json_names_the_line_and_column(write):
    path = write('[\n  "https://img.example/a.jpg",\n  "https://img.example/b.jpg"\n  "oops"\n]\n')

    with pytest.raises(SourceError, match=r"is not valid JSON: Expecting ',' delimiter at line 4, column 3"):
        records_of(path)


def test_the_error_comes_before_any_record(write):
    path = write(["https://img.example/a.jpg", 42])
    records = UrlListSource(path).records()

    with pytest.raises(
        SourceError, match=r"item 2 is neither a URL string nor an object with \"url\" \(got a number\)"
    ):
        next(records)


@pytest.mark.parametrize(
    "content, message",
    [
        ({"urls": ["https://img.example/a.jpg"]}, "must be instagram-scraper metadata"),
        ([{"url": ""}], 'item 1 has no usable "url"'),
        ([{"url": "https://img.example/a.jpg", "taken_at": "last tuesday"}], "item 1: cannot read its time"),
        ([{"url": "https://img.example/a.jpg", "taken_at": True}], "item 1: cannot read its time"),
        ([{"url": "https://img.example/a.jpg", "tags": {"a": 1}}], '"tags" must be a list'),
        ({"GraphImages": [{"shortcode": "X", "urls": []}]}, "post 1 \\(X\\) has neither"),
        ({"GraphImages": ["nope"]}, "GraphImages item 1 is not an object"),
    ],
)
def test_malformed_entries_are_named(write, content, message):
    with pytest.raises(SourceError, match=message):
        records_of(write(content))


def test_a_file_that_is_not_utf8_names_the_line(write):
    path = write(b"https://img.example/a.jpg\nhttps://img.example/\xff.jpg\n")

    with pytest.raises(SourceError, match="not UTF-8 text \\(bad byte at line 2"):
        records_of(path)
