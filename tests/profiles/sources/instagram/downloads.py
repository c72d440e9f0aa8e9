"""Folders as the instaloader command line writes them, written here by instaloader 4.16's own
``Instaloader.download_post`` (file names, captions, ``_location.txt``) with a context that serves the images from
memory: ``download`` of ``graphql_post`` nodes (the shape instaloader 4.2 to 4.9 saved). Shared by the offline
Instagram tests, the re-run tests and the hostile-import tests (not a test module)."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import instaloader
import requests
from instaloader import InstaloaderContext, Post, Profile

from tests.conftest import image_bytes
from tests.profiles.sources.instagram.fake_instagram import DAY, OWNER_PK, T0, cdn


class ImageServer(InstaloaderContext):
    """Logged in as "viewer"; ``get_raw`` answers every image URL with a JPEG, ``get_json`` a location's page (what
    ``--geotags`` asks for) with ``coordinates``; any other request fails the test."""

    def __init__(self, coordinates: tuple[float, float] | tuple[None, None] = (38.7139, -9.1334)) -> None:
        super().__init__(sleep=False, quiet=True, iphone_support=False)
        self.username = "viewer"
        self.seeds: dict[str, int] = {}
        self.coordinates = coordinates

    def get_raw(self, url: str, _attempt: int = 1) -> requests.Response:
        response = requests.Response()
        response.status_code, response.headers["Content-Type"] = 200, "image/jpeg"
        response.raw = io.BytesIO(image_bytes(self.seeds.setdefault(url, len(self.seeds) + 1)))
        return response

    def get_json(self, path: str, params: dict, *args, **kwargs):
        assert path == "explore/locations/213385402/", f"unexpected request {path}"
        latitude, longitude = self.coordinates
        return {
            "native_location_data": {
                "location_info": {
                    "name": "Lisbon, Portugal",
                    "slug": "lisbon-portugal",
                    "has_public_page": True,
                    "lat": latitude,
                    "lng": longitude,
                }
            }
        }

    def doc_id_graphql_query(self, *args, **kwargs):
        raise AssertionError(f"unexpected request {args}")

    graphql_query = get_iphone_json = doc_id_graphql_query


def graphql_post(
    shortcode: str,
    taken_at: int,
    caption: str,
    *,
    kind: str = "image",
    items: int = 0,
    location: dict[str, Any] | None = None,
    owner: str = "alice",
    tagged: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A post as Instagram's GraphQL API gave it to instaloader 4.2 to 4.9 (the shape its saved nodes keep)."""
    node: dict[str, Any] = {
        "__typename": {"image": "GraphImage", "video": "GraphVideo", "carousel": "GraphSidecar"}[kind],
        "id": str(Post.shortcode_to_mediaid(shortcode)),
        "shortcode": shortcode,
        "taken_at_timestamp": taken_at,
        "is_video": kind == "video",
        "display_url": cdn(shortcode),
        "video_url": cdn(shortcode + "_video"),
        "edge_media_to_caption": {"edges": [{"node": {"text": caption}}]},
        "edge_media_preview_like": {"count": 5},
        "owner": {"id": OWNER_PK, "username": owner},
        "accessibility_caption": None,
        "location": copy.deepcopy(location),  # instaloader adds the coordinates it fetches to this dict
        "edge_media_to_tagged_user": {
            "edges": [{"node": {"user": {"username": name}, "x": 0.5, "y": 0.5}} for name in tagged]
        },
    }
    if kind == "carousel":
        node["edge_sidecar_to_children"] = {
            "edges": [
                {"node": {"__typename": "GraphImage", "display_url": cdn(f"{shortcode}_{i}"), "is_video": False}}
                for i in range(1, items + 1)
            ]
        }
    return node


# As a profile's listing gives a location: instaloader asks for its coordinates when it writes _location.txt.
LISBON = {"id": "213385402", "has_public_page": True, "name": "Lisbon, Portugal", "slug": "lisbon-portugal"}
POSTS = [
    graphql_post("Bsingle0001", T0, "Tram 28 with @Maria #lisbon", location=LISBON),
    graphql_post("Bcarousel01", T0 - DAY, "Two views", kind="carousel", items=2),
    graphql_post("Bvideo00001", T0 - 2 * DAY, "A ride", kind="video"),
]


def download(folder: Path, nodes: list[dict[str, Any]], *, metadata: bool, context: ImageServer | None = None) -> Path:
    """What `instaloader [--no-metadata-json] --geotags alice` leaves in ``folder``: instaloader 4.16 itself names and
    writes every file (the profile picture too)."""
    context = context or ImageServer()
    loader = instaloader.Instaloader(
        quiet=True, save_metadata=metadata, download_geotags=True, download_videos=False, dirname_pattern=str(folder)
    )
    loader.context = context
    for node in nodes:
        loader.download_post(Post(context, node), target="alice")
    loader.download_profilepic(
        Profile(context, {"id": OWNER_PK, "username": "alice", "profile_pic_url_hd": cdn("alice_profile")})
    )
    return folder
