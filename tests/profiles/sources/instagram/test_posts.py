"""What an Instagram post names besides its words: its location, its owner, co-authors and tagged accounts, read
from the data instaloader already holds (live, and from the files it saved), without one request more."""

from __future__ import annotations

import copy
from typing import Any

import instaloader
import pytest
from instaloader import Post, PostLocation

from profiles.sources.instagram.live import InstagramSource
from profiles.sources.instagram.offline import InstagramDirSource, OfflineContext
from profiles.sources.instagram.posts import post_records
from tests.conftest import image_bytes
from tests.profiles.sources.instagram.fake_instagram import (
    DAY,
    OWNER_PK,
    T0,
    FakeInstagram,
    cdn,
    loader_for,
    media,
    stamp,
)

LISBON = {
    "pk": 213385402,
    "short_name": "Lisbon",
    "name": "Lisbon, Portugal",
    "address": "",
    "city": "",
    "lat": 38.7139,
    "lng": -9.1334,
    "facebook_places_id": 110432202311659,
    "external_source": "facebook_places",
    "has_viewer_saved": False,
}


def user(pk: str, username: str) -> dict[str, Any]:
    return {"pk": pk, "id": pk, "username": username, "full_name": username.title(), "is_private": False}


def usertags(*usernames: str) -> dict[str, Any]:
    return {"in": [{"user": user(str(900 + i), name), "position": [0.5, 0.5]} for i, name in enumerate(usernames)]}


def placed(node: dict[str, Any], *, tags: tuple[str, ...] = (), coauthors: tuple[str, ...] = ()) -> dict[str, Any]:
    """An iPhone-format post (what instaloader 4.16 lists) at LISBON, with tagged accounts and co-authors."""
    node = copy.deepcopy(node)
    node.update(location=dict(LISBON), lat=LISBON["lat"], lng=LISBON["lng"])
    if tags:
        node["usertags"] = usertags(*tags)
    if coauthors:
        node["coauthor_producers"] = [user(str(800 + i), name) for i, name in enumerate(coauthors)]
    return node


TAGGED = placed(
    media("C8placed001", T0, "Sunset at the miradouro with @Maria.Silva #lisbon"),
    tags=("Maria.Silva", "joao_p"),
    coauthors=("bob.travels",),
)
CAROUSEL = media("C8carousel1", T0 - DAY, "Two views", kind="carousel", items=(("image", None), ("image", None)))
CAROUSEL["carousel_media"][0]["usertags"] = usertags("carla")
CAROUSEL["carousel_media"][1]["usertags"] = usertags("dani", "carla")


@pytest.fixture
def live(tmp_path):
    def run(pages) -> dict[str, Any]:
        source = InstagramSource(
            "alice", resume_dir=tmp_path / "resume", loader=loader_for(FakeInstagram(pages)), fetch=lambda url: b""
        )
        return {record.source_id: record for record in source.records()}

    return run


def test_a_live_post_gives_its_location_and_the_people_named_on_it_without_more_requests(live):
    record = live([[TAGGED]])["C8placed001"]

    assert (record.place_name, record.place_id, record.latitude, record.longitude) == (
        "Lisbon, Portugal",
        "213385402",
        38.7139,
        -9.1334,
    )
    # The owner, the co-authors, the tagged accounts; the caption's @mentions are added at import.
    assert record.people == ("alice", "bob.travels", "maria.silva", "joao_p")
    assert record.extra["owner"] == "alice"


def test_each_carousel_item_names_the_accounts_tagged_on_it(live):
    records = live([[CAROUSEL]])

    assert [records[f"C8carousel1_{i}"].people for i in (1, 2)] == [("alice", "carla"), ("alice", "dani", "carla")]
    assert records["C8carousel1_1"].place_name == "" and records["C8carousel1_1"].latitude is None


def test_a_post_without_a_location_has_no_place(live):
    record = live([[media("C8noplace01", T0, "Home")]])["C8noplace01"]

    assert (record.place_name, record.place_id, record.latitude, record.longitude) == ("", "", None, None)
    assert record.people == ("alice",)


def test_the_saved_metadata_gives_the_same_place_and_people_as_the_live_import(live, tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    for node, seed in ((TAGGED, 1), (CAROUSEL, 2)):
        post = Post.from_iphone_struct(OfflineContext(), node)
        instaloader.save_structure_to_file(post, str(folder / f"{stamp(node)}.json.xz"))
        names = [f"{stamp(node)}_{i}.jpg" for i in (1, 2)] if node is CAROUSEL else [f"{stamp(node)}.jpg"]
        for name in names:
            (folder / name).write_bytes(image_bytes(seed))

    offline = {r.source_id: r for r in InstagramDirSource("alice", folder).records()}

    for source_id, record in live([[TAGGED, CAROUSEL]]).items():
        saved = offline[source_id]
        assert (saved.place_name, saved.place_id, saved.latitude, saved.longitude, saved.people, saved.extra) == (
            record.place_name,
            record.place_id,
            record.latitude,
            record.longitude,
            record.people,
            record.extra,
        )


def graphql_node(
    shortcode: str, *, owner: dict[str, Any], location: dict[str, Any] | None = None, tagged: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A post as instaloader 4.2 to 4.9 saved it: a GraphQL node."""
    node: dict[str, Any] = {
        "__typename": "GraphImage",
        "id": str(Post.shortcode_to_mediaid(shortcode)),
        "shortcode": shortcode,
        "taken_at_timestamp": T0,
        "is_video": False,
        "display_url": cdn(shortcode),
        "edge_media_to_caption": {"edges": [{"node": {"text": "Cats of #lisbon"}}]},
        "edge_media_preview_like": {"count": 3},
        "owner": owner,
        "edge_media_to_tagged_user": {
            "edges": [{"node": {"user": {"username": name}, "x": 0.5, "y": 0.5}} for name in tagged]
        },
    }
    if location is not None:
        node["location"] = location
    return node


def test_a_graphql_location_without_coordinates_keeps_its_name_and_id_and_asks_for_nothing():
    # What a profile's listing gave before 4.10: instaloader's Post.location would fetch the coordinates.
    node = graphql_node(
        "Bgraphql001",
        owner={"id": OWNER_PK, "username": "Alice"},
        tagged=("Maria",),
        location={"id": "213385402", "has_public_page": True, "name": "Lisbon, Portugal", "slug": "lisbon-portugal"},
    )

    (record,) = post_records(Post(OfflineContext(), node))

    assert (record.place_name, record.place_id, record.latitude, record.longitude) == (
        "Lisbon, Portugal",
        "213385402",
        None,
        None,
    )
    assert (record.people, record.extra["owner"]) == (("alice", "maria"), "alice")


def test_a_location_instaloader_fetched_for_geotags_is_saved_with_its_coordinates():
    # `instaloader --geotags` asks for the location and keeps it on the post: its saved node holds all of it.
    post = Post(OfflineContext(), graphql_node("Bgeotags001", owner={"id": OWNER_PK, "username": "alice"}))
    post._location = PostLocation(213385402, "Lisbon, Portugal", "lisbon-portugal", True, 38.7139, -9.1334)
    saved = Post(OfflineContext(), instaloader.get_json_structure(post)["node"])

    (record,) = post_records(saved)

    assert (record.place_name, record.place_id, record.latitude, record.longitude) == (
        "Lisbon, Portugal",
        "213385402",
        38.7139,
        -9.1334,
    )


def test_an_owner_the_data_does_not_name_is_unknown_not_the_folder_s_name():
    # Hashtag listings before 4.10 gave the owner's id only; a live profile import names its own posts' owner.
    post = Post(OfflineContext(), graphql_node("Bhashtag001", owner={"id": "4242"}))

    (unknown,) = post_records(post)
    (named,) = post_records(post, owner="alice")

    assert ("owner" not in unknown.extra, unknown.people) == (True, ())
    assert (named.extra["owner"], named.people) == ("alice", ("alice",))
