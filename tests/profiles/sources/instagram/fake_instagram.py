"""A fake Instagram for instaloader, without the network: real instaloader objects fed with canned answers.

``FakeInstagram`` is an ``InstaloaderContext`` that answers the three requests instaloader 4.16 makes to list a
logged-in profile's posts — the profile's page data, the profile query and the pages of the posts query — from the
JSON written below (field names as instaloader reads them), and fails the test on any other request. Refusals are the
exceptions instaloader itself derives from Instagram's answers (see ``instaloader_error``). ``instaloader_folder``
writes what the instaloader command line leaves on disk for the same posts.

Shared by the Instagram source tests, the import command tests and the hostile-import tests (not a test module).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

import instaloader
import requests
from instaloader import AbortDownloadException, ConnectionException, InstaloaderContext, InstaloaderException, Post

from profiles.sources.instagram import offline as instagram_offline
from tests.conftest import image_bytes

# instaloader 4.16's queries for a logged-in session (Profile._obtain_metadata, Profile.get_posts, test_login).
PROFILE_QUERY = "27937681195819736"
POSTS_QUERY = "29104886249145907"
TEST_LOGIN_QUERY = "d6f4427fbe92d846298cf93df0b937d3"
FATAL = [400, 401, 403, 429]

OWNER_PK = "8234567890"
VIEWER = "viewer"
T0 = 1_717_243_200  # 2024-06-01 12:00:00 UTC
DAY = 86_400


# --- Instagram's JSON -------------------------------------------------------------------------------------------


def cdn(name: str) -> str:
    return (
        f"https://scontent-ams2-1.cdninstagram.com/v/t51.2885-15/{name}_n.jpg?stp=dst-jpg_e35_p1080x1080"
        f"&_nc_ht=scontent-ams2-1.cdninstagram.com&_nc_cat=1&oh=00_AYDk3Xq&oe=67774B2D&_nc_sid=8b3546"
    )


def owner() -> dict[str, Any]:
    return {
        "pk": OWNER_PK,
        "id": OWNER_PK,
        "username": "alice",
        "full_name": "Alice Example",
        "is_private": False,
        "is_verified": False,
        "profile_pic_url": cdn("alice_profile"),
    }


def versions(name: str) -> dict[str, Any]:
    return {
        "candidates": [
            {"url": cdn(name), "width": 1080, "height": 1350},
            {"url": cdn(name + "_s640"), "width": 640, "height": 800},
        ]
    }


def media(
    code: str,
    taken_at: int,
    caption: str | None,
    *,
    kind: str = "image",
    alt: str | None = None,
    items: tuple[tuple[str, str | None], ...] = (),
    likes: int = 12,
    pinned: bool = False,
) -> dict[str, Any]:
    """A post as a node of Instagram's xdt_api__v1__feed__user_timeline_graphql_connection (the iPhone format)."""
    pk = str(Post.shortcode_to_mediaid(code))
    node: dict[str, Any] = {
        "code": code,
        "pk": pk,
        "id": f"{pk}_{OWNER_PK}",
        "taken_at": taken_at,
        "media_type": {"image": 1, "video": 2, "carousel": 8}[kind],
        "product_type": {"image": "feed", "video": "clips", "carousel": "carousel_container"}[kind],
        "caption": {"pk": pk + "1", "text": caption, "created_at": taken_at} if caption is not None else None,
        "like_count": likes,
        "has_liked": False,
        "comment_count": 3,
        "accessibility_caption": alt,
        "timeline_pinned_user_ids": [int(OWNER_PK)] if pinned else [],
        "clips_tab_pinned_user_ids": [],
        "user": owner(),
        "image_versions2": versions(code),
    }
    if kind == "video":
        node.update(
            video_versions=[{"type": 101, "url": cdn(code + "_video") + "&mp4"}], video_duration=14.2, view_count=None
        )
    if kind == "carousel":
        node["carousel_media_count"] = len(items)
        node["carousel_media"] = [
            {
                "pk": f"{pk}{i}",
                "id": f"{pk}{i}_{OWNER_PK}",
                "media_type": 2 if item_kind == "video" else 1,
                "image_versions2": versions(f"{code}_{i}"),
                "accessibility_caption": item_alt,
                **(
                    {"video_versions": [{"type": 101, "url": cdn(f"{code}_{i}_video") + "&mp4"}]}
                    if item_kind == "video"
                    else {}
                ),
            }
            for i, (item_kind, item_alt) in enumerate(items, start=1)
        ]
    return node


PINNED = media(
    "C5pinnedOld",
    T0 - 400 * DAY,
    "Still my favourite #Sunset #sunset over #Lisbon",
    pinned=True,
    alt="Photo by Alice Example on April 28, 2023. May be an image of sky, ocean and twilight.",
)
CAROUSEL = media(
    "C7carousel1",
    T0,
    "Weekend in #Porto, #travel with friends",
    kind="carousel",
    likes=345,
    items=(
        ("image", "May be an image of a bridge and a river."),
        ("video", "May be a video of a tram."),
        ("image", None),
    ),
)
VIDEO = media("C7video0001", T0 - DAY, "Tram ride #porto", kind="video", likes=87)
IMAGE = media("C6image0001", T0 - 2 * DAY, None, alt="May be an image of a cat.", likes=0)
CAROUSEL2 = media(
    "C6carousel2",
    T0 - 3 * DAY,
    "Two #Dogs",
    kind="carousel",
    items=(("image", "May be an image of a dog."), ("image", "May be an image of another dog.")),
)
OLDEST = media("C5oldimage1", T0 - 30 * DAY, "First post #hello")
PAGES = [[PINNED, CAROUSEL, VIDEO], [IMAGE, CAROUSEL2], [OLDEST]]
ALL_IDS = [
    "C5pinnedOld",
    "C7carousel1_1",
    "C7carousel1_2",
    "C7carousel1_3",
    "C7video0001",
    "C6image0001",
    "C6carousel2_1",
    "C6carousel2_2",
    "C5oldimage1",
]


def page_user(*, private: bool = False) -> dict[str, Any]:
    """The profile as its public page embeds it (xig_user_by_username): "id" is a page id, "pk" the user id."""
    return {
        "pk": OWNER_PK,
        "id": "17841400000000001",
        "username": "alice",
        "full_name": "Alice Example",
        "is_private": private,
        "is_verified": False,
        "biography": "Photos.",
        "media_count": 6,
        "follower_count": 321,
        "following_count": 123,
        "profile_pic_url": cdn("alice_profile"),
    }


def profile_query_user(*, private: bool = False, following: bool = True) -> dict[str, Any]:
    """The profile as the logged-in profile query (PolarisProfilePageContentQuery) answers it."""
    return {
        **page_user(private=private),
        "id": OWNER_PK,
        "hd_profile_pic_url_info": {"url": cdn("alice_hd")},
        "friendship_status": {
            "following": following,
            "followed_by": False,
            "blocking": False,
            "incoming_request": False,
            "outgoing_request": False,
        },
    }


def instaloader_error(status: int, body: dict[str, Any], *, fatal: bool = True) -> Exception:
    """The exception instaloader 4.16's get_json() raises when Instagram answers the posts query with ``status`` and
    the JSON ``body``: instaloader's own status checks run on a Response built here (no HTTP). With ``fatal`` (our
    fatal_status_codes) that is an AbortDownloadException; without, get_json's last attempt wraps the error in a
    ConnectionException "JSON Query to api/graphql: …", as its retry loop does."""
    context = InstaloaderContext(sleep=False, quiet=True, fatal_status_codes=FATAL if fatal else [])
    response = requests.Response()
    response.status_code, response.reason = status, HTTPStatus(status).phrase
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response._content = json.dumps(body).encode()
    response.url = "https://www.instagram.com/api/graphql"
    try:
        context._raise_if_fatal_status(response, "www.instagram.com", "api/graphql")
        context._raise_for_status(response)
    except ConnectionException as exc:
        return ConnectionException(f"JSON Query to api/graphql: {exc}")
    except (AbortDownloadException, InstaloaderException) as exc:
        return exc
    raise AssertionError(f"instaloader accepted HTTP {status}")


PLEASE_WAIT = {"message": "Please wait a few minutes before you try again.", "require_login": True, "status": "fail"}
CHECKPOINT = {
    "message": "checkpoint_required",
    "checkpoint_url": "https://www.instagram.com/challenge/?next=/api/",
    "lock": False,
    "flow_render_type": 0,
    "status": "fail",
}
NETWORK_DOWN = ConnectionException(
    "JSON Query to api/graphql: HTTPSConnectionPool(host='www.instagram.com', port=443): Max retries exceeded with "
    "url: /api/graphql (Caused by NameResolutionError(\"Failed to resolve 'www.instagram.com' ([Errno -3] "
    'Temporary failure in name resolution)"))'
)


# --- The fake Instagram -----------------------------------------------------------------------------------------


class FakeInstagram(InstaloaderContext):
    """Serves one profile, "alice", to instaloader; any request it does not expect fails the test.

    ``failures`` maps a posts-page cursor (None: the first page) to the exception that page request raises, once.
    ``cursors`` records the posts pages asked for.
    """

    NETWORK_METHODS = (
        "get_json",
        "get_iphone_json",
        "get_raw",
        "get_and_write_raw",
        "head",
        "_get_page",
        "_csrf_token",
        "_web_api_tokens",
        "login",
        "two_factor_login",
        "graphql_node_list",
    )

    def __init__(
        self,
        pages=PAGES,
        *,
        viewer: str | None = VIEWER,
        private: bool = False,
        following: bool = True,
        failures: dict[str | None, Exception] | None = None,
        session_owner: str | None = VIEWER,
    ):
        super().__init__(sleep=False, quiet=True, max_connection_attempts=1, fatal_status_codes=FATAL)
        self.username = viewer
        self.pages = pages
        self.private, self.following = private, following
        self.failures = dict(failures or {})
        self.session_owner = session_owner
        self.cursors: list[str | None] = []
        self.test_logins = 0

    def get_page_data(self, path: str) -> list[dict[str, Any]]:
        if path != "alice/":
            return []  # what Profile.from_username makes of the 404 of an unknown profile's page
        return [{"xig_user_by_username": page_user(private=self.private)}]

    def doc_id_graphql_query(self, doc_id, variables, referer=None, web_api=False):
        if doc_id == PROFILE_QUERY and variables["id"] == OWNER_PK:
            return {
                "data": {"user": profile_query_user(private=self.private, following=self.following)},
                "extensions": {"is_final": True},
            }
        if doc_id == POSTS_QUERY and variables["username"] == "alice" and web_api:
            return self._posts_page(variables.get("after"))
        raise AssertionError(f"unexpected query {doc_id} {variables}")

    def graphql_query(self, query_hash, variables, referer=None):
        if query_hash == TEST_LOGIN_QUERY:
            self.test_logins += 1
            user = {"username": self.session_owner} if self.session_owner else None
            return {"data": {"user": user}, "status": "ok"}
        raise AssertionError(f"unexpected query {query_hash}")

    def _posts_page(self, cursor: str | None) -> dict[str, Any]:
        self.cursors.append(cursor)
        if cursor in self.failures:
            raise self.failures.pop(cursor)
        index = 0 if cursor is None else [page[-1]["id"] for page in self.pages].index(cursor) + 1
        page, more = self.pages[index], index + 1 < len(self.pages)
        return {
            "data": {
                "xdt_api__v1__feed__user_timeline_graphql_connection": {
                    "edges": [{"node": node, "cursor": node["id"]} for node in page],
                    "page_info": {
                        "end_cursor": page[-1]["id"] if more else None,
                        "has_next_page": more,
                        "has_previous_page": False,
                        "start_cursor": None,
                    },
                }
            },
            "extensions": {"is_final": True},
        }


def _unexpected(method: str):
    def fail(self, *args, **kwargs):
        raise AssertionError(f"instaloader made an unexpected request: {method}{args}")

    return fail


for _method in FakeInstagram.NETWORK_METHODS:
    setattr(FakeInstagram, _method, _unexpected(_method))


def cursor_after(page_index: int) -> str:
    """The cursor with which instaloader asks for page ``page_index`` (0-based) of PAGES."""
    return PAGES[page_index - 1][-1]["id"]


def loader_for(context: InstaloaderContext) -> instaloader.Instaloader:
    loader = instaloader.Instaloader(sleep=False, quiet=True)
    loader.context = context
    return loader


IMAGES = {
    url: image_bytes(seed)
    for seed, url in enumerate(
        [cdn(m["code"]) for page in PAGES for m in page]
        + [
            cdn(f"{m['code']}_{i}")
            for page in PAGES
            for m in page
            for i in range(1, len(m.get("carousel_media", [])) + 1)
        ]
    )
}


def fetch(url: str) -> bytes:
    return IMAGES[url]


# --- A folder written by the instaloader CLI -------------------------------------------------------------------


def stamp(node: dict[str, Any]) -> str:
    """instaloader's default file name for a post: {date_utc}_UTC."""
    return datetime.fromtimestamp(node["taken_at"], UTC).strftime("%Y-%m-%d_%H-%M-%S") + "_UTC"


def instaloader_folder(root: Path, nodes: list[dict[str, Any]]) -> Path:
    """What `instaloader --login viewer alice` leaves in alice/: per post {stamp}.json.xz (instaloader's own
    save_structure_to_file), .txt caption, .jpg image(s) (_1, _2… for a carousel; a video's cover) and .mp4 videos;
    plus the profile's metadata, its id file, a resume file and a comments file."""
    root.mkdir(parents=True)
    context = instagram_offline.OfflineContext()
    for node in nodes:
        post = Post.from_iphone_struct(context, node)
        name = stamp(node)
        instaloader.save_structure_to_file(post, str(root / f"{name}.json.xz"))
        if post.caption:
            (root / f"{name}.txt").write_text(post.caption + "\n", encoding="utf-8")
        if post.typename == "GraphSidecar":
            for i, item in enumerate(node["carousel_media"], start=1):
                (root / f"{name}_{i}.jpg").write_bytes(IMAGES[cdn(f"{node['code']}_{i}")])
                if item["media_type"] == 2:
                    (root / f"{name}_{i}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
        else:
            (root / f"{name}.jpg").write_bytes(IMAGES[cdn(node["code"])])
            if post.is_video:
                (root / f"{name}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    profile = instaloader.Profile(context, profile_query_user())
    instaloader.save_structure_to_file(profile, str(root / f"alice_{OWNER_PK}.json.xz"))
    (root / "id").write_text(OWNER_PK + "\n")
    frozen = instaloader.FrozenNodeIterator(
        None, {"username": "alice"}, None, VIEWER, 3, time.time() + DAY, {"edges": []}, None, POSTS_QUERY
    )
    instaloader.save_structure_to_file(frozen, str(root / "iterator_AbCdEfGh.json.xz"))
    (root / f"{stamp(CAROUSEL)}_comments.json").write_text("[]")
    return root
