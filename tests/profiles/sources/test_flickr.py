"""FlickrSource against a mocked REST endpoint (``responses``: no network, no DNS)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses
from responses import matchers

from profiles.fetch import FetchError
from profiles.sources.base import SkippedRecord, SourceNotFound, SourceRefused, SourceUnavailable
from profiles.sources.flickr import EXTRAS, KEY_HELP, FlickrSource
from tests.conftest import image_bytes

API = "https://api.flickr.com/services/rest/"
KEY = "k3y-0123456789abcdef"
NSID = "12345678@N01"
ALBUM = "72157600000000001"


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def api(rsps, method: str, payload: dict | None = None, *, status: int = 200, body: str | None = None, **params):
    """Answer one API call, matched on ``method`` and the given query parameters."""
    query = {"method": method, **{name: str(value) for name, value in params.items()}}
    match = [matchers.query_param_matcher(query, strict_match=False)]
    if body is not None:
        rsps.get(API, body=body, status=status, content_type="text/html", match=match)
    else:
        rsps.get(API, json={"stat": "ok", **(payload or {})}, status=status, match=match)


def fail(rsps, method: str, code: int, message: str, **params):
    query = {"method": method, **params}
    rsps.get(
        API,
        json={"stat": "fail", "code": code, "message": message},
        match=[matchers.query_param_matcher(query, strict_match=False)],
    )


def photo(photo_id: str, **fields) -> dict:
    base = {
        "id": photo_id,
        "secret": "abc",
        "server": "65535",
        "farm": 66,
        "title": f"Photo {photo_id}",
        "ispublic": 1,
        "license": "4",
        "description": {"_content": ""},
        "datetaken": "2021-06-01 18:30:00",
        "datetakengranularity": 0,
        "datetakenunknown": "0",
        "dateupload": "1622572200",
        "ownername": "Ann Example",
        "tags": "",
        "media": "photo",
        "url_l": f"https://live.staticflickr.com/65535/{photo_id}_abc_b.jpg",
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def photoset_page(page: int, pages: int, photos: list[dict], per_page: int = 2) -> dict:
    return {
        "photoset": {
            "id": ALBUM,
            "primary": photos[0]["id"] if photos else "",
            "owner": NSID,
            "ownername": "Ann Example",
            "photo": photos,
            "page": page,  # Flickr sends numbers or strings depending on the method
            "per_page": str(per_page),
            "perpage": per_page,
            "pages": pages,
            "title": "Summer in Lisbon",
            "total": "3",
        }
    }


def photos_page(page: int, pages: int, photos: list[dict]) -> dict:
    return {"photos": {"page": page, "pages": str(pages), "perpage": 500, "total": len(photos), "photo": photos}}


def source(**kwargs) -> FlickrSource:
    kwargs.setdefault("api_key", KEY)
    return FlickrSource(**kwargs)


def methods(rsps) -> list[str]:
    return [call.request.params["method"] for call in rsps.calls]


# -- listing -----------------------------------------------------------------------------------------------------------


def test_an_album_is_read_page_by_page_in_order(rsps):
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 2, [photo("1"), photo("2")]), photoset_id=ALBUM, page=1)
    api(rsps, "flickr.photosets.getPhotos", photoset_page(2, 2, [photo("3")]), photoset_id=ALBUM, page=2)

    records = list(source(album=ALBUM, per_page=2).records())

    assert [r.source_id for r in records] == ["1", "2", "3"]
    assert len(rsps.calls) == 2
    for call in rsps.calls:
        params = call.request.params
        assert params["api_key"] == KEY and params["format"] == "json" and params["nojsoncallback"] == "1"
        assert params["per_page"] == "2" and params["extras"] == EXTRAS
        assert "user_id" not in params
    assert {"description", "license", "date_taken", "owner_name", "tags", "url_l", "url_c", "url_o"} <= set(
        EXTRAS.split(",")
    )


def test_a_record_carries_licence_owner_tags_text_and_date(rsps):
    described = photo(
        "51234",
        title="Tram 28 &amp; the hill",
        description={"_content": 'Going up to <a href="https://example.com">Graça</a>.<br />Early <b>light</b>.'},
        tags="lisbon Tram28 travel lisbon",
        license="5",
        datetaken="2021-06-01 18:30:00",
        ownername="Ann Example",
    )
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 1, [described]))

    (record,) = source(album=ALBUM).records()

    assert record.source_id == "51234"
    assert record.image_url == "https://live.staticflickr.com/65535/51234_abc_b.jpg"
    assert record.permalink == f"https://www.flickr.com/photos/{NSID}/51234/"
    assert record.text == "Tram 28 & the hill\n\nGoing up to Graça.\nEarly light."
    assert record.hashtags == ("lisbon", "tram28", "travel")
    # Flickr's datetaken is local time without a zone; it is stored as if it were UTC.
    assert record.taken_at == datetime(2021, 6, 1, 18, 30, tzinfo=UTC)
    assert record.media_type == "image"
    assert record.extra == {
        "license": "Attribution-ShareAlike License",
        "license_id": 5,
        "owner": NSID,
        "owner_name": "Ann Example",
        "post": "51234",
    }


@pytest.mark.parametrize(
    "license_id, name",
    [
        ("0", "All Rights Reserved"),
        ("9", "Public Domain Dedication (CC0)"),
        ("10", "Public Domain Mark"),
        ("42", "Flickr licence 42"),
    ],
)
def test_licence_names_come_from_the_documented_table(rsps, license_id, name):
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 1, [photo("1", license=license_id)]))

    (record,) = source(album=ALBUM).records()

    assert record.extra["license"] == name and record.extra["license_id"] == int(license_id)


def test_title_only_text_and_unknown_date_fall_back_to_the_upload_time(rsps):
    undated = photo("1", title="  Just a title ", datetakenunknown="1", datetaken="2021-06-01 01:00:00")
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 1, [undated]))

    (record,) = source(album=ALBUM).records()

    assert record.text == "Just a title"
    assert record.taken_at == datetime(2021, 6, 1, 18, 30, tzinfo=UTC)  # dateupload 1622572200


@pytest.mark.parametrize(
    "granularity, taken, precision",
    [
        (0, datetime(2021, 6, 1, 18, 30, tzinfo=UTC), None),
        (4, datetime(2021, 6, 1, tzinfo=UTC), "month"),
        (6, datetime(2021, 1, 1, tzinfo=UTC), "year"),
        (8, datetime(1975, 1, 1, tzinfo=UTC), "circa"),
    ],
)
def test_a_coarse_date_taken_is_kept_and_says_how_coarse(rsps, granularity, taken, precision):
    # What Flickr sends for each granularity: the date cut to its precision.
    datetaken = taken.strftime("%Y-%m-%d %H:%M:%S")
    api(
        rsps,
        "flickr.photosets.getPhotos",
        photoset_page(1, 1, [photo("1", datetaken=datetaken, datetakengranularity=str(granularity))]),
    )

    (record,) = source(album=ALBUM).records()

    assert record.taken_at == taken and record.taken_at_source == ""  # "": the source states it, EXIF never wins
    assert record.extra.get("date_taken") == precision


def test_an_unknown_date_taken_is_the_upload_time_and_says_so(rsps):
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 1, [photo("1", datetakenunknown="1")]))

    (record,) = source(album=ALBUM).records()

    assert (record.taken_at, record.extra["date_taken"]) == (datetime(2021, 6, 1, 18, 30, tzinfo=UTC), "unknown")


def test_a_geotag_gives_the_coordinates_and_flickr_s_place_id(rsps):
    geotagged = [
        photo("1", latitude=38.7139, longitude="-9.1334", accuracy="16", place_id="sN2d5.5TWrhWKxiA", woeid="742676"),
        photo("2", latitude=0, longitude=0, accuracy=0),  # what Flickr sends for a photo without a geotag
        photo("3", latitude="39.5", longitude="-8.0", accuracy="3", place_id="country"),  # a whole country
        photo("4", latitude="41.15", longitude="-8.61"),  # no accuracy: kept
    ]
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 1, geotagged))

    records = list(source(album=ALBUM).records())

    assert [(r.latitude, r.longitude, r.place_id, r.extra.get("geo_accuracy")) for r in records] == [
        (38.7139, -9.1334, "sN2d5.5TWrhWKxiA", 16),
        (None, None, "", None),
        (None, None, "", 3),
        (41.15, -8.61, "", None),
    ]
    assert "geo" in rsps.calls[0].request.params["extras"].split(",")
    assert all(r.place_name == "" for r in records)  # list methods give no names: the town comes from the point


def test_the_owner_is_a_person_of_the_photo_by_url_name_or_one_word_screen_name(rsps):
    owners = [
        photo("1", pathalias="ann_lisboa", ownername="Ann Example"),
        photo("2", ownername="AnnLisboa"),
        photo("3", ownername="Ann Example"),  # a screen name of two words is no handle
        photo("4", ownername=None),
    ]
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 1, owners))

    records = list(source(album=ALBUM).records())

    assert [r.people for r in records] == [("ann_lisboa",), ("annlisboa",), (), ()]


def test_image_url_prefers_large_then_800_then_original(rsps):
    sized = [
        photo(
            "1", url_l=None, url_c="https://live.staticflickr.com/c.jpg", url_o="https://live.staticflickr.com/o.jpg"
        ),
        photo("2", url_l=None, url_o="https://live.staticflickr.com/o.jpg"),
        photo("3", url_l=None, url_z="https://live.staticflickr.com/z.jpg"),
        photo("4", url_l=None, media="video"),
    ]
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 1, sized))

    records = list(source(album=ALBUM).records())

    assert [r.image_url for r in records[:3]] == [
        "https://live.staticflickr.com/c.jpg",
        "https://live.staticflickr.com/o.jpg",
        "https://live.staticflickr.com/z.jpg",
    ]
    assert records[3] == SkippedRecord("4", "Flickr offers no downloadable size of this photo to this API key")


def test_a_photo_without_a_size_met_on_every_page_is_reported_once(rsps, caplog):
    # Pages shift while the owner uploads: Flickr lists the same photo again on the next page.
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 2, [photo("1"), photo("2", url_l=None)]), page=1)
    api(rsps, "flickr.photosets.getPhotos", photoset_page(2, 2, [photo("2", url_l=None), photo("3")]), page=2)

    items = list(source(album=ALBUM, per_page=2).records())

    assert [(type(item).__name__, item.source_id) for item in items] == [
        ("SourceRecord", "1"),
        ("SkippedRecord", "2"),
        ("SourceRecord", "3"),
    ]
    assert "no downloadable size" not in caplog.text  # the import logs it, once, with the other skipped items


def test_a_user_name_is_looked_up_then_their_public_photos_listed(rsps):
    api(
        rsps,
        "flickr.people.findByUsername",
        {"user": {"id": NSID, "nsid": NSID, "username": {"_content": "ann"}}},
        username="ann",
    )
    api(rsps, "flickr.people.getPublicPhotos", photos_page(1, 2, [photo("10", owner=NSID)]), user_id=NSID, page=1)
    api(rsps, "flickr.people.getPublicPhotos", photos_page(2, 2, [photo("11", owner=NSID)]), user_id=NSID, page=2)

    records = list(source(user="ann").records())

    assert [r.source_id for r in records] == ["10", "11"]
    assert methods(rsps) == [
        "flickr.people.findByUsername",
        "flickr.people.getPublicPhotos",
        "flickr.people.getPublicPhotos",
    ]
    assert records[0].permalink == f"https://www.flickr.com/photos/{NSID}/10/"
    assert records[0].extra["owner"] == NSID


def test_an_nsid_skips_the_name_lookup(rsps):
    api(rsps, "flickr.people.getPublicPhotos", photos_page(1, 1, [photo("10", owner=NSID)]), user_id=NSID)

    assert [r.source_id for r in source(user=NSID).records()] == ["10"]
    assert methods(rsps) == ["flickr.people.getPublicPhotos"]


def test_an_album_url_gives_the_album_and_its_owner(rsps):
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 1, [photo("1")]), photoset_id=ALBUM, user_id=NSID)

    records = list(source(album=f"https://www.flickr.com/photos/{NSID}/albums/{ALBUM}/").records())

    assert [r.source_id for r in records] == ["1"]


def test_a_photo_listed_twice_across_pages_is_yielded_once(rsps):
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 2, [photo("1"), photo("2")]), page=1)
    api(rsps, "flickr.photosets.getPhotos", photoset_page(2, 2, [photo("2"), photo("3")]), page=2)

    assert [r.source_id for r in source(album=ALBUM, per_page=2).records()] == ["1", "2", "3"]


# -- describe / read ---------------------------------------------------------------------------------------------------


def test_read_downloads_the_image(rsps):
    jpeg = image_bytes(3)
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 1, [photo("1")]))
    rsps.get("https://live.staticflickr.com/65535/1_abc_b.jpg", body=jpeg, content_type="image/jpeg")
    flickr = source(album=ALBUM)

    (record,) = flickr.records()

    assert flickr.read(record) == jpeg


def test_read_of_a_missing_image_is_a_fetch_error(rsps):
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 1, [photo("1")]))
    rsps.get("https://live.staticflickr.com/65535/1_abc_b.jpg", status=404)
    flickr = source(album=ALBUM)

    (record,) = flickr.records()

    with pytest.raises(FetchError, match="HTTP 404"):
        flickr.read(record)


def test_read_uses_the_injected_fetch():
    asked = []
    flickr = FlickrSource(
        album=ALBUM,
        api_key=KEY,
        fetch_json=lambda url, params: {"stat": "ok", **photoset_page(1, 1, [photo("1")])},
        fetch=lambda url: asked.append(url) or b"bytes",
    )
    (record,) = flickr.records()

    assert flickr.read(record) == b"bytes" and asked == [record.image_url]


# -- errors ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "   "])
def test_a_missing_key_is_refused_with_help(key):
    with pytest.raises(SourceRefused) as caught:
        FlickrSource(album=ALBUM, api_key=key)

    assert str(caught.value) == KEY_HELP
    assert "https://www.flickr.com/services/apps/create/" in KEY_HELP and "export FLICKR_API_KEY=" in KEY_HELP


@pytest.mark.parametrize("kwargs", [{}, {"album": ALBUM, "user": NSID}])
def test_exactly_one_of_album_and_user(kwargs):
    with pytest.raises(ValueError, match="exactly one"):
        FlickrSource(api_key=KEY, **kwargs)


def test_an_invalid_key_is_refused_in_a_clear_sentence(rsps):
    fail(rsps, "flickr.photosets.getPhotos", 100, "Invalid API Key (Key has invalid format)")

    with pytest.raises(SourceRefused) as caught:
        list(source(album=ALBUM).records())

    message = str(caught.value)
    assert message.startswith("Flickr rejected the API key (Invalid API Key (Key has invalid format));")
    assert "FLICKR_API_KEY" in message and KEY not in message


def test_an_unknown_album_is_not_found(rsps):
    fail(rsps, "flickr.photosets.getPhotos", 1, "Photoset not found", photoset_id="999")

    with pytest.raises(SourceNotFound, match="Flickr album 999 does not exist or is not public"):
        list(source(album="999").records())


def test_an_unknown_user_is_not_found(rsps):
    fail(rsps, "flickr.people.findByUsername", 1, "User not found", username="nobody-here")
    fail(rsps, "flickr.urls.lookupUser", 1, "User not found", url="https://www.flickr.com/photos/nobody-here/")

    with pytest.raises(SourceNotFound, match="No Flickr member is called 'nobody-here'"):
        list(source(user="nobody-here").records())


def test_a_url_alias_is_found_when_the_screen_name_is_not(rsps):
    fail(rsps, "flickr.people.findByUsername", 1, "User not found", username="ann_photos")
    api(
        rsps,
        "flickr.urls.lookupUser",
        {"user": {"id": NSID, "username": {"_content": "Ann"}}},
        url="https://www.flickr.com/photos/ann_photos/",
    )
    api(rsps, "flickr.people.getPublicPhotos", photos_page(1, 1, [photo("10", owner=NSID)]), user_id=NSID)

    assert [r.source_id for r in source(user="ann_photos").records()] == ["10"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_unavailable(rsps, status):
    rsps.get(API, status=status, body="oops")

    with pytest.raises(
        SourceUnavailable, match=f"not reachable right now \\(HTTP {status} from api.flickr.com\\)"
    ) as caught:
        list(source(album=ALBUM).records())

    assert KEY not in str(caught.value)


def test_a_rate_limit_is_refused(rsps):
    rsps.get(API, status=429, body="slow down", headers={"Retry-After": "30"})

    with pytest.raises(SourceRefused, match=r"rate-limiting this API key \(Flickr asks to wait 30 s\)"):
        list(source(album=ALBUM).records())


def test_flickr_saying_it_is_unavailable_is_unavailable(rsps):
    fail(rsps, "flickr.photosets.getPhotos", 105, "Service currently unavailable")

    with pytest.raises(SourceUnavailable, match="temporarily unavailable"):
        list(source(album=ALBUM).records())


def test_an_html_answer_is_unavailable(rsps):
    api(rsps, "flickr.photosets.getPhotos", body="<html>maintenance</html>")

    with pytest.raises(SourceUnavailable, match="unexpected answer"):
        list(source(album=ALBUM).records())


def test_a_forbidden_answer_is_refused(rsps):
    rsps.get(API, status=403, body="no")

    with pytest.raises(SourceRefused, match="HTTP 403"):
        list(source(album=ALBUM).records())


def test_records_already_yielded_survive_a_later_page_failing(rsps):
    api(rsps, "flickr.photosets.getPhotos", photoset_page(1, 2, [photo("1"), photo("2")]), page=1)
    rsps.get(API, status=503, match=[matchers.query_param_matcher({"page": "2"}, strict_match=False)])
    seen = []

    with pytest.raises(SourceUnavailable):
        for record in source(album=ALBUM, per_page=2).records():
            seen.append(record.source_id)

    assert seen == ["1", "2"]
