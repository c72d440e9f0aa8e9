"""Folders as the instaloader command line writes them, imported offline: written by instaloader 4.16's own
``Instaloader.download_post`` (file names, captions, ``_location.txt``; see downloads.py) with a context that serves
the images from memory, and by its ``save_structure_to_file`` for the metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import instaloader
import pytest
from django.core.management import call_command
from instaloader import Post

from profiles.models import ImportJob, Photo
from profiles.sources.base import SkippedRecord, SourceRecord
from profiles.sources.instagram.offline import InstagramDirSource, OfflineContext
from tests.conftest import image_bytes
from tests.profiles.sources.instagram.downloads import LISBON, POSTS, ImageServer, download, graphql_post
from tests.profiles.sources.instagram.fake_instagram import DAY, T0

LOCATION_TXT = "Lisbon, Portugal\nhttps://maps.google.com/maps?q=38.7139,-9.1334&ll=38.7139,-9.1334\n"


def stem(node: dict[str, Any]) -> str:
    return datetime.fromtimestamp(node["taken_at_timestamp"], UTC).strftime("%Y-%m-%d_%H-%M-%S") + "_UTC"


def split(items) -> tuple[dict[str, SourceRecord], dict[str, str]]:
    items = list(items)
    return (
        {i.source_id: i for i in items if isinstance(i, SourceRecord)},
        {i.source_id: i.reason for i in items if isinstance(i, SkippedRecord)},
    )


def test_a_folder_downloaded_without_metadata_is_imported_from_its_files(tmp_path):
    folder = download(tmp_path / "alice", POSTS, metadata=False)
    assert not list(folder.glob("*.json*")) and list(folder.glob("*_profile_pic.jpg"))

    records, skipped = split(InstagramDirSource("alice", folder).records())

    single, carousel, video = (stem(node) for node in POSTS)
    assert (list(records), skipped) == ([single, f"{carousel}_1", f"{carousel}_2", video], {})
    first = records[single]
    assert (first.text, first.hashtags, first.permalink) == ("Tram 28 with @Maria #lisbon", ("lisbon",), "")
    assert (first.taken_at, first.taken_at_source) == (datetime(2024, 6, 1, 12, tzinfo=UTC), "file_name")
    assert (first.place_name, first.latitude, first.longitude) == ("Lisbon, Portugal", 38.7139, -9.1334)
    assert first.extra == {"post": single}
    assert [records[f"{carousel}_{i}"].extra for i in (1, 2)] == [{"post": carousel, "index": i} for i in (1, 2)]
    assert records[f"{carousel}_1"].text == "Two views"  # the post's caption, shared by its items
    assert records[video].media_type == "image"  # --no-videos: only the cover is there
    assert records[single].image_path == folder / f"{single}.jpg"


def test_a_video_downloaded_without_metadata_nor_its_cover_is_reported(tmp_path):
    folder = download(tmp_path / "alice", POSTS[2:], metadata=False)
    video = stem(POSTS[2])
    (folder / f"{video}.jpg").unlink()
    (folder / f"{video}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")

    records, skipped = split(InstagramDirSource("alice", folder).records())

    assert (records, list(skipped)) == ({}, [f"{video}.mp4"])
    assert skipped[f"{video}.mp4"].startswith("a video without its cover image")


def test_a_post_without_metadata_beside_posts_with_it_keeps_every_one(tmp_path):
    folder = download(tmp_path / "alice", POSTS[:1], metadata=True)
    download(folder, POSTS[1:2], metadata=False)

    records, skipped = split(InstagramDirSource("alice", folder).records())

    assert (list(records), skipped) == (["Bsingle0001", f"{stem(POSTS[1])}_1", f"{stem(POSTS[1])}_2"], {})
    assert records["Bsingle0001"].permalink == "https://www.instagram.com/p/Bsingle0001/"


@pytest.mark.parametrize(
    "coordinates, written, place",
    [
        ((38.7139, -9.1334), LOCATION_TXT, ("Lisbon, Portugal", 38.7139, -9.1334)),
        ((None, None), "Lisbon, Portugal", ("Lisbon, Portugal", None, None)),
    ],
    ids=["name and link", "a location without coordinates: its name only"],
)
def test_the_location_file_instaloader_writes_gives_the_place(tmp_path, coordinates, written, place):
    folder = download(
        tmp_path / "alice",
        [graphql_post("Bplace00001", T0, "", location=LISBON)],
        metadata=False,
        context=ImageServer(coordinates),
    )
    location_file = folder / f"{stem({'taken_at_timestamp': T0})}_location.txt"
    assert location_file.read_text() == written

    (record,) = InstagramDirSource("alice", folder).records()

    assert (record.place_name, record.latitude, record.longitude, record.place_id) == (*place, "")


def test_a_location_file_fills_in_what_the_saved_metadata_lacks(tmp_path):
    # Metadata saved without --geotags holds the location's name and id, not its coordinates; the location file of an
    # earlier --geotags run of an older version (which wrote "None,None" for unknown coordinates) may be beside it.
    folder = download(tmp_path / "alice", [graphql_post("Bplace00001", T0, "", location=LISBON)], metadata=True)
    instaloader.save_structure_to_file(
        Post(OfflineContext(), graphql_post("Bplace00001", T0, "", location=LISBON)),
        str(folder / f"{stem({'taken_at_timestamp': T0})}.json.xz"),
    )
    location_file = folder / f"{stem({'taken_at_timestamp': T0})}_location.txt"
    location_file.unlink()

    (without,) = InstagramDirSource("alice", folder).records()
    location_file.write_text("Lisbon, Portugal\nhttps://maps.google.com/maps?q=None,None&ll=None,None\n")
    (unknown,) = InstagramDirSource("alice", folder).records()
    location_file.write_text(LOCATION_TXT)
    (record,) = InstagramDirSource("alice", folder).records()

    assert (without.place_name, without.place_id, without.latitude) == ("Lisbon, Portugal", "213385402", None)
    assert (unknown.latitude, unknown.longitude) == (None, None)
    assert (record.place_name, record.place_id, record.latitude, record.longitude) == (
        "Lisbon, Portugal",
        "213385402",
        38.7139,
        -9.1334,
    )


def test_a_hashtag_folder_keeps_each_post_s_owner(tmp_path):
    nodes = [
        graphql_post("Bcats000001", T0, "#cats", owner="Bob"),
        graphql_post("Bcats000002", T0 - 60, "#cats", owner="carla"),
    ]
    folder = download(tmp_path / "#cats", nodes, metadata=True)

    records, _ = split(InstagramDirSource("cats", folder).records())

    assert [(r.extra["owner"], r.people) for r in records.values()] == [("bob", ("bob",)), ("carla", ("carla",))]


def test_unreadable_metadata_missing_images_and_stray_images_are_reported_not_dropped(tmp_path):
    folder = download(tmp_path / "alice", POSTS, metadata=True)
    single, carousel, video = (stem(node) for node in POSTS)
    (folder / f"{carousel}_2.jpg").unlink()
    (folder / f"{video}.json.xz").write_bytes(b"\xfd7zXZ\x00 cut short")
    (folder / "holiday.jpg").write_bytes(image_bytes(9))
    (folder / f"{single}_comments.json").write_text("[]")

    records, skipped = split(InstagramDirSource("alice", folder).records())

    assert list(records) == ["Bsingle0001", "Bcarousel01_1"]
    assert skipped.keys() == {"Bcarousel01_2", f"{video}.json.xz", "holiday.jpg"}
    assert skipped["Bcarousel01_2"].startswith(f"no image file {carousel}_2.jpg")
    assert skipped[f"{video}.json.xz"].startswith("its metadata cannot be read")
    assert "import_folder" in skipped["holiday.jpg"]


@pytest.mark.django_db
def test_import_instagram_counts_the_skipped_items_with_their_reasons(tmp_path):
    folder = download(tmp_path / "alice", POSTS, metadata=True)
    (folder / f"{stem(POSTS[1])}_2.jpg").unlink()
    out, err = StringIO(), StringIO()

    call_command(
        "import_instagram", "alice", "--from-dir", str(folder), "--no-progress", "--no-embed", stdout=out, stderr=err
    )

    assert "alice: 3 imported, 0 updated, 0 unchanged, 1 skipped" in out.getvalue()
    assert f"skipped 'Bcarousel01_2': no image file {stem(POSTS[1])}_2.jpg" in err.getvalue()
    job = ImportJob.objects.get()
    assert (job.skipped, [source_id for source_id, _ in job.problems]) == (1, ["Bcarousel01_2"])


def import_folder(folder: Path) -> str:
    out = StringIO()
    call_command(
        "import_instagram",
        "alice",
        "--from-dir",
        str(folder),
        "--no-progress",
        "--no-embed",
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


@pytest.mark.django_db
def test_the_people_named_on_a_post_are_found_by_handle_with_or_without_at(tmp_path, encoder):
    from search.selectors import RankingOptions, photo_search
    from search.services.embedding import photos_embed

    nodes = [
        graphql_post("Btagged0001", T0, "Lunch with @Maria.Silva", tagged=("joao_p",), location=LISBON),
        graphql_post("Bother00001", T0 - DAY, "Nobody here", owner="alice"),
    ]
    import_folder(download(tmp_path / "alice", nodes, metadata=True))
    photos_embed()

    tagged = Photo.objects.get(source_id="Btagged0001")
    assert tagged.people_list == ["alice", "joao_p", "maria.silva"]  # owner, tagged, then the caption's mentions
    assert (tagged.place_name, tagged.latitude, tagged.longitude) == ("Lisbon, Portugal", 38.7139, -9.1334)
    # As words (literal: the query is not parsed), with or without the "@".
    for query in ("@maria.silva", "maria.silva", "@joao_p", "joao_p"):
        hits = photo_search(query=query, ranking=RankingOptions(cutoff=0), literal=True).hits
        assert [hit.photo.source_id for hit in hits if hit.text_rank is not None] == ["Btagged0001"], query
    # Understood: "@maria.silva" is a person, a filter on the people named.
    for query in ("@maria.silva", "lunch with @joao_p"):
        result = photo_search(query=query, ranking=RankingOptions(cutoff=0))
        assert [part.kind for part in result.understood] == ["person"], query
        assert [hit.photo.source_id for hit in result.hits] == ["Btagged0001"], query


@pytest.mark.django_db
def test_a_re_import_fills_the_new_fields_of_known_photos_without_re_embedding_them(tmp_path):
    folder = download(
        tmp_path / "alice",
        [graphql_post("Bold0000001", T0, "Hi @maria", tagged=("joao_p",), location=LISBON)],
        metadata=True,
    )
    import_folder(folder)
    # As an older version left the row: no place, no people; embedded since.
    Photo.objects.update(
        place_name="",
        place_id="",
        latitude=None,
        longitude=None,
        city="",
        region="",
        country="",
        country_code="",
        people="",
        embedding=[0.25, 0.5, 0.75],
        embedding_model="test-model",
    )

    out = import_folder(folder)

    assert "alice: 0 imported, 1 updated, 0 unchanged" in out
    photo = Photo.objects.get()
    assert (photo.place_name, photo.place_id, photo.latitude, photo.people) == (
        "Lisbon, Portugal",
        "213385402",
        38.7139,
        "alice joao_p maria",
    )
    assert (photo.embedding_model, [float(x) for x in photo.embedding]) == ("test-model", [0.25, 0.5, 0.75])
    assert "0 imported, 0 updated, 1 unchanged" in import_folder(folder)


def test_no_request_is_made_when_the_folder_is_read(tmp_path, monkeypatch):
    folder = download(tmp_path / "alice", POSTS, metadata=True)
    monkeypatch.setattr(OfflineContext, "_refuse", lambda self, method: pytest.fail(f"{method}() was called"))

    records, skipped = split(InstagramDirSource("alice", folder).records())

    assert len(records) == 4 and skipped == {}
