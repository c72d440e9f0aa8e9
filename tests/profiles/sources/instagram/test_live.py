"""Instagram sources, without the network: real instaloader objects fed with canned answers.

``FakeInstagram`` is an ``InstaloaderContext`` that answers the three requests instaloader 4.16 makes to list a
logged-in profile's posts — the profile's page data, the profile query and the pages of the posts query — from the
JSON written below (field names as instaloader reads them), and fails the test on any other request. Everything
above it is instaloader's own code: ``Profile.from_username``, ``Profile.get_posts``, a real ``NodeIterator`` with
its pagination, ``Post.from_iphone_struct``, ``resumable_iteration`` and its resume files. Refusals are the
exceptions instaloader itself derives from Instagram's answers (see ``instaloader_error``).
"""

from __future__ import annotations

import json
import lzma
import pickle
import socket
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import instaloader
import pytest
import requests
from instaloader import (
    AbortDownloadException,
    ConnectionException,
    InstaloaderContext,
    InstaloaderException,
    Post,
    TooManyRequestsException,
)

from profiles.sources.base import SkippedRecord, SourceNotFound, SourceRecord, SourceRefused, SourceUnavailable
from profiles.sources.instagram import live as instagram
from profiles.sources.instagram import offline as instagram_offline
from profiles.sources.instagram.live import InstagramSource
from profiles.sources.instagram.offline import InstagramDirSource
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


@pytest.fixture
def resume_dir(tmp_path) -> Path:
    return tmp_path / "resume"


@pytest.fixture
def source(resume_dir):
    """``source(context=None, **options)``: an InstagramSource for alice on a FakeInstagram (a fresh one by default)."""

    def build(context: InstaloaderContext | None = None, **options) -> InstagramSource:
        return InstagramSource(
            "alice", resume_dir=resume_dir, loader=loader_for(context or FakeInstagram()), fetch=fetch, **options
        )

    return build


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test (pytest.fail: no ``except Exception`` hides it)."""

    def refuse(*args, **kwargs):
        pytest.fail(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def ids(records) -> list[str]:
    return [record.source_id for record in records]


def drain(records, into: list) -> None:
    """Collect records until the source raises; re-raise."""
    for record in records:
        into.append(record)


# --- Records ----------------------------------------------------------------------------------------------------


def test_a_profile_gives_one_record_per_image_with_the_post_s_words(source):
    records = {r.source_id: r for r in source().records()}

    assert list(records) == ALL_IDS
    items = [records[f"C7carousel1_{i}"] for i in (1, 2, 3)]
    assert {(r.permalink, r.text, r.hashtags, r.likes) for r in items} == {
        (
            "https://www.instagram.com/p/C7carousel1/",
            "Weekend in #Porto, #travel with friends",
            ("porto", "travel"),
            345,
        )
    }
    assert [r.alt_text for r in items] == ["May be an image of a bridge and a river.", "May be a video of a tram.", ""]
    assert [r.media_type for r in items] == ["image", "video", "image"]
    assert [r.image_url for r in items] == [cdn("C7carousel1_1"), cdn("C7carousel1_2"), cdn("C7carousel1_3")]
    assert [r.extra for r in items] == [
        {"post": "C7carousel1", "owner": "alice", "index": i, "is_pinned": False} for i in (1, 2, 3)
    ]

    video = records["C7video0001"]
    assert (video.media_type, video.image_url, video.text, video.hashtags) == (
        "video",
        cdn("C7video0001"),
        "Tram ride #porto",
        ("porto",),
    )  # the cover, not the .mp4
    assert video.extra == {"post": "C7video0001", "owner": "alice", "is_pinned": False}

    pinned = records["C5pinnedOld"]
    assert pinned.hashtags == ("sunset", "lisbon")  # lower-cased, first occurrence order, no repeats
    assert pinned.alt_text.startswith("Photo by Alice Example")
    assert pinned.extra == {"post": "C5pinnedOld", "owner": "alice", "is_pinned": True}
    assert (records["C6image0001"].text, records["C6image0001"].hashtags) == ("", ())


def test_dates_are_aware_utc_and_likes_and_bytes_come_through(source):
    src = source()
    records = {r.source_id: r for r in src.records()}

    taken = records["C7carousel1_2"].taken_at
    assert taken == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert taken.utcoffset() == timedelta(0)
    assert records["C5pinnedOld"].taken_at == datetime(2024, 6, 1, 12, tzinfo=UTC) - timedelta(days=400)
    assert (records["C6image0001"].likes, records["C7video0001"].likes, records["C5oldimage1"].likes) == (0, 87, 12)
    assert src.read(records["C6carousel2_2"]) == IMAGES[cdn("C6carousel2_2")]
    assert all(r.image_path is None and r.image_url for r in records.values())


def test_limit_counts_posts_not_images_and_fetches_no_page_beyond_it(source, resume_dir):
    context = FakeInstagram()
    assert ids(source(context, limit=2).records()) == ["C5pinnedOld", "C7carousel1_1", "C7carousel1_2", "C7carousel1_3"]
    assert context.cursors == [None]
    assert ids(source(limit=4).records()) == ALL_IDS[:6]
    assert list(resume_dir.iterdir()) == []


# --- Fast update ------------------------------------------------------------------------------------------------


def test_fast_update_stops_at_the_first_known_post_but_skips_known_pinned_ones(source):
    pages = [
        [
            media("C7pinKnown1", T0 - 900 * DAY, "pinned a", pinned=True),
            media("C7pinKnown2", T0 - 800 * DAY, "pinned b", pinned=True),
        ],
        [
            media("C7newpost01", T0, "new one"),
            media("C7newpost02", T0 - DAY, "new two", kind="carousel", items=(("image", None), ("image", None))),
        ],
        [media("C7knownOld1", T0 - 10 * DAY, "known"), media("C7unreached", T0 - 11 * DAY, "never asked")],
    ]
    known = {"C7pinKnown1", "C7pinKnown2", "C7knownOld1", "C7unreached"}
    asked: list[str] = []

    def known_post(shortcode: str) -> bool:
        asked.append(shortcode)
        return shortcode in known

    records = list(source(FakeInstagram(pages), fast_update=True, known_post=known_post).records())

    assert ids(records) == ["C7newpost01", "C7newpost02_1", "C7newpost02_2"]
    assert asked == ["C7pinKnown1", "C7pinKnown2", "C7newpost01", "C7newpost02", "C7knownOld1"]


def test_fast_update_lets_the_first_three_posts_pass_as_possibly_pinned_like_instaloader(source):
    # Instagram stopped marking pinned posts for a while; instaloader then treats the first three as maybe pinned.
    pages = [
        [media(f"C7oldpin00{i}", T0 - (900 + i) * DAY, "pinned, unmarked") for i in (1, 2, 3)]
        + [media("C7newpost01", T0, "new"), media("C7knownOld1", T0 - 5 * DAY, "known")]
    ]
    known = {"C7oldpin001", "C7oldpin002", "C7oldpin003", "C7knownOld1"}

    records = source(FakeInstagram(pages), fast_update=True, known_post=known.__contains__).records()

    assert ids(records) == ["C7newpost01"]


def test_without_fast_update_known_posts_are_yielded_again(source):
    assert ids(source(known_post=lambda shortcode: True).records()) == ALL_IDS


# --- Interruption and resume ------------------------------------------------------------------------------------


INTERRUPTIONS = {
    "401 please wait (fatal status)": (instaloader_error(401, PLEASE_WAIT), "Please wait a few minutes"),
    "401 please wait (retries exhausted)": (instaloader_error(401, PLEASE_WAIT, fatal=False), "Please wait"),
    "429 (fatal status)": (instaloader_error(429, {"message": "", "status": "fail"}), "429"),
    "429 TooManyRequestsException": (
        TooManyRequestsException("429 Too Many Requests when accessing https://www.instagram.com/api/graphql"),
        "429",
    ),
    "403": (instaloader_error(403, {"message": "", "status": "fail"}), "403"),
    "checkpoint": (instaloader_error(400, CHECKPOINT), "security check"),
    "logged out": (
        AbortDownloadException(
            "Redirected to login page. You've been logged out, please wait some "
            "time, recreate the session and try again"
        ),
        "instaloader --login viewer",
    ),
}


@pytest.mark.parametrize("refusal, words", INTERRUPTIONS.values(), ids=INTERRUPTIONS.keys())
def test_a_refusal_on_page_two_keeps_the_records_before_and_the_next_run_resumes(source, resume_dir, refusal, words):
    first_run: list = []
    with pytest.raises(SourceRefused) as refused:
        drain(source(FakeInstagram(failures={cursor_after(1): refusal})).records(), into=first_run)

    message = str(refused.value)
    assert words in message and "continue where it stopped" in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence
    assert isinstance(refused.value.__cause__, type(refusal))
    assert ids(first_run) == ALL_IDS[:5]  # page one, yielded before the refusal
    assert [p.name.startswith("alice_") and p.name.endswith(".json.xz") for p in resume_dir.iterdir()] == [True]

    second = FakeInstagram()
    second_run = list(source(second).records())

    # Page one is asked for again (instaloader's iterator starts with it), then the saved position is used: the
    # interrupted post comes again, and the pages after it.
    assert second.cursors == [None, cursor_after(1), cursor_after(2)]
    assert ids(second_run) == ["C7video0001"] + ALL_IDS[5:]
    assert set(ids(first_run)) | set(ids(second_run)) == set(ALL_IDS)
    assert list(resume_dir.iterdir()) == []


def test_a_resumed_fast_update_does_not_stop_at_the_interrupted_post(source, resume_dir):
    imported: list = []
    with pytest.raises(SourceRefused):
        drain(
            source(
                FakeInstagram(failures={cursor_after(2): instaloader_error(429, {"status": "fail"})}), fast_update=True
            ).records(),
            into=imported,
        )
    assert ids(imported) == ALL_IDS[:8]
    posts = {r.extra["post"] for r in imported}

    resumed = list(source(fast_update=True, known_post=posts.__contains__).records())

    assert ids(resumed) == ["C5oldimage1"]
    assert list(resume_dir.iterdir()) == []


def test_resume_files_are_kept_per_username(source, resume_dir):
    with pytest.raises(SourceRefused):
        list(source(FakeInstagram(failures={cursor_after(1): instaloader_error(429, {"status": "fail"})})).records())
    (saved,) = resume_dir.iterdir()
    frozen = instaloader.load_structure_from_file(InstaloaderContext(), str(saved))
    assert isinstance(frozen, instaloader.FrozenNodeIterator)
    assert (frozen.context_username, frozen.total_index, frozen.query_variables["username"]) == (VIEWER, 2, "alice")


# --- Errors -----------------------------------------------------------------------------------------------------


def test_a_profile_that_does_not_exist_is_not_found(resume_dir):
    src = InstagramSource("nobody.here", resume_dir=resume_dir, loader=loader_for(FakeInstagram()), fetch=fetch)
    with pytest.raises(SourceNotFound, match="nobody.here does not exist or is not visible to the account viewer"):
        list(src.records())


def test_an_invalid_username_is_not_found_before_any_request(resume_dir):
    src = InstagramSource("../etc", resume_dir=resume_dir, loader=loader_for(FakeInstagram()), fetch=fetch)
    with pytest.raises(SourceNotFound, match="not a valid Instagram profile name"):
        list(src.records())
    assert not resume_dir.exists()


def test_a_private_profile_not_followed_is_refused(source):
    with pytest.raises(SourceRefused, match="alice is private and the account viewer does not follow it"):
        list(source(FakeInstagram(private=True, following=False)).records())


def test_anonymously_a_private_profile_asks_for_a_login(source):
    with pytest.raises(SourceRefused) as refused:
        list(source(FakeInstagram(viewer=None, private=True)).records())
    assert "anonymous" in str(refused.value) and "`instaloader --login YOUR_ACCOUNT`" in str(refused.value)


def test_a_checkpoint_on_the_first_page_is_refused(source, resume_dir):
    with pytest.raises(SourceRefused, match="security check"):
        list(source(FakeInstagram(failures={None: instaloader_error(400, CHECKPOINT)})).records())
    assert list(resume_dir.glob("*")) == []  # nothing to resume: the iteration never started


@pytest.mark.parametrize(
    "failure", [NETWORK_DOWN, requests.ConnectionError("Connection refused")], ids=["instaloader", "requests"]
)
def test_the_network_down_is_unavailable(source, failure):
    with pytest.raises(SourceUnavailable, match="Could not reach Instagram .*check the network connection"):
        list(source(FakeInstagram(failures={None: failure})).records())


@pytest.mark.parametrize(
    "exc, viewer, kind, words",
    [
        (
            instaloader.ProfileNotExistsException("Profile x does not exist."),
            None,
            SourceNotFound,
            "anonymous visitors",
        ),
        (
            instaloader.LoginRequiredException("Redirected to login page. Use --login or --load-cookies."),
            None,
            SourceRefused,
            "anonymous visitor (login required)",
        ),
        (instaloader.LoginRequiredException("Login required."), "me", SourceRefused, "`instaloader --login me`"),
        (
            instaloader.TwoFactorAuthRequiredException("Login error: two-factor authentication required."),
            "me",
            SourceRefused,
            "two-factor",
        ),
        (
            instaloader.LoginException(
                "Login: Checkpoint required. Point your browser to https://www.instagram.com/"
                "challenge/x - follow the instructions, then retry."
            ),
            "me",
            SourceRefused,
            "security check",
        ),
        (
            instaloader_error(400, {"message": "feedback_required", "status": "fail"}),
            "me",
            SourceRefused,
            "feedback_required",
        ),
        (instaloader_error(401, PLEASE_WAIT), None, SourceRefused, "anonymous visitor (HTTP 401"),
        (instagram.ThrottleWaitTooLong(1500), "me", SourceRefused, "wait 25 minutes"),
        (
            instaloader.BadResponseException("The start page did not contain the token lsd."),
            "me",
            SourceUnavailable,
            "update instaloader",
        ),
        (
            instaloader.QueryReturnedNotFoundException("404 Not Found when accessing https://www.instagram.com/x"),
            "me",
            SourceUnavailable,
            "Could not reach Instagram",
        ),
    ],
)
def test_instaloader_failures_map_to_one_clear_sentence(exc, viewer, kind, words):
    error = instagram.source_error(exc, profile="alice", viewer=viewer)
    assert type(error) is kind
    assert words in str(error)
    assert str(error).endswith(".") and "\n" not in str(error)


def test_the_loader_we_build_never_sleeps_long_nor_asks_anything():
    loader = instagram.default_loader()
    context = loader.context
    assert (context.quiet, context.fatal_status_codes, context.max_connection_attempts) == (True, FATAL, 2)
    assert context.request_timeout == 30.0
    assert not (loader.download_pictures or loader.download_videos or loader.save_metadata)
    context._rate_controller.sleep(0)
    with pytest.raises(AbortDownloadException):  # not a 30-minute sleep
        context._rate_controller.sleep(30 * 60)


# --- Sessions ---------------------------------------------------------------------------------------------------


SESSION = {"sessionid": "8234%3Aabc%3A12", "csrftoken": "tok", "ds_user_id": "1234", "mid": "Zx", "ig_did": "D1"}


def test_login_without_a_saved_session_tells_to_run_instaloader_login(source, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with pytest.raises(SourceRefused) as refused:
        list(source(login="someone.new").records())
    assert "`instaloader --login someone.new`" in str(refused.value)


def test_login_uses_the_session_instaloader_login_saved(source, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    saved = tmp_path / "config" / "instaloader" / "session-viewer"
    saved.parent.mkdir(parents=True)
    saved.write_bytes(pickle.dumps(SESSION))
    context = FakeInstagram(viewer=None)

    assert ids(source(context, login="viewer").records()) == ALL_IDS
    assert (context.username, context._session.cookies.get("sessionid"), context.test_logins) == (
        "viewer",
        SESSION["sessionid"],
        0,
    )


def test_a_session_file_s_account_comes_from_its_name_or_from_instagram(source, tmp_path):
    named = tmp_path / "session-viewer"
    named.write_bytes(pickle.dumps(SESSION))
    context = FakeInstagram(viewer=None)
    assert ids(source(context, session_file=named).records()) == ALL_IDS
    assert (context.username, context.test_logins) == ("viewer", 0)

    unnamed = tmp_path / "my-instagram.session"
    unnamed.write_bytes(pickle.dumps(SESSION))
    context = FakeInstagram(viewer=None)
    assert ids(source(context, session_file=unnamed).records()) == ALL_IDS
    assert (context.username, context.test_logins) == ("viewer", 1)

    context = FakeInstagram(viewer=None, session_owner=None)  # Instagram: not logged in
    with pytest.raises(SourceRefused, match="did not confirm the login"):
        list(source(context, session_file=unnamed).records())


def test_a_session_file_is_never_unpickled_into_objects(source, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    evil = tmp_path / "session-viewer"
    evil.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(SourceRefused, match="not an instaloader session file"):
        list(source(FakeInstagram(viewer=None), session_file=evil).records())
    assert not marker.exists()
    with pytest.raises(SourceNotFound, match="does not exist"):
        list(source(session_file=tmp_path / "missing").records())


def cookies_txt(path: Path, cookies: dict[str, str]) -> Path:
    lines = ["# Netscape HTTP Cookie File", "# exported from a browser", ""]
    expires = int(time.time()) + 365 * DAY
    lines += [f".instagram.com\tTRUE\t/\tTRUE\t{expires}\t{name}\t{value}" for name, value in cookies.items()]
    lines.append(f".example.com\tTRUE\t/\tFALSE\t{expires}\tsessionid\tnot-instagram")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_browser_cookies_log_in_as_the_account_instagram_names(source, tmp_path):
    context = FakeInstagram(viewer=None)
    assert ids(source(context, cookies_file=cookies_txt(tmp_path / "cookies.txt", SESSION)).records()) == ALL_IDS
    assert (context.username, context._session.cookies.get("sessionid")) == ("viewer", SESSION["sessionid"])

    logged_out = cookies_txt(tmp_path / "logged-out.txt", {"csrftoken": "tok", "mid": "Zx"})
    with pytest.raises(SourceRefused, match="holds no Instagram login"):
        list(source(FakeInstagram(viewer=None), cookies_file=logged_out).records())
    junk = tmp_path / "junk.txt"
    junk.write_text("sessionid=abc\n")
    with pytest.raises(SourceRefused, match="not a Netscape cookies.txt"):
        list(source(cookies_file=junk).records())


# --- Offline: a folder written by the instaloader CLI -----------------------------------------------------------


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


@pytest.fixture
def offline_only(monkeypatch, no_network):
    """The offline source's context may not even try a request (it would refuse anyway)."""

    def fail(self, method):
        pytest.fail(f"the offline import wanted to call {method}()")

    monkeypatch.setattr(instagram_offline.OfflineContext, "_refuse", fail)


def without_image(record):
    return replace(record, image_url="", image_path=None)


def test_an_instaloader_folder_gives_the_same_records_as_a_live_import(source, tmp_path, offline_only):
    live = {r.source_id: r for r in source().records()}
    folder = instaloader_folder(tmp_path / "alice", [node for page in PAGES for node in page])

    src = InstagramDirSource("alice", folder)
    offline = {r.source_id: r for r in src.records()}

    assert sorted(offline) == sorted(ALL_IDS)
    assert {k: without_image(r) for k, r in offline.items()} == {k: without_image(r) for k, r in live.items()}
    item = offline["C7carousel1_2"]
    assert item.image_path == folder / f"{stamp(CAROUSEL)}_2.jpg" and item.image_url == ""
    assert offline["C7video0001"].image_path == folder / f"{stamp(VIDEO)}.jpg"  # the cover, not the .mp4
    assert src.read(item) == IMAGES[cdn("C7carousel1_2")]


def test_a_missing_image_file_skips_that_item_with_its_reason(tmp_path, offline_only):
    folder = instaloader_folder(tmp_path / "alice", [CAROUSEL, IMAGE])
    (folder / f"{stamp(CAROUSEL)}_3.jpg").unlink()
    (folder / f"{stamp(IMAGE)}.jpg").unlink()

    records = list(InstagramDirSource("alice", folder).records())

    assert ids(records) == ["C7carousel1_1", "C7carousel1_2", "C7carousel1_3", "C6image0001"]
    skipped = {r.source_id: r.reason for r in records if isinstance(r, SkippedRecord)}
    assert skipped == {
        "C7carousel1_3": f"no image file {stamp(CAROUSEL)}_3.jpg (downloaded with --slide, --no-pictures or "
        f"--no-video-thumbnails, or deleted)",
        "C6image0001": f"no image file {stamp(IMAGE)}.jpg (downloaded with --slide, --no-pictures or "
        f"--no-video-thumbnails, or deleted)",
    }


def test_older_graphql_metadata_and_incomplete_metadata_are_read_without_the_network(tmp_path, no_network):
    folder = tmp_path / "alice"
    folder.mkdir()
    legacy = {  # a post saved by instaloader before 4.16, from the GraphQL API
        "__typename": "GraphSidecar",
        "id": "3012345678901234567",
        "shortcode": "Cabc123defg",
        "taken_at_timestamp": T0,
        "is_video": False,
        "display_url": cdn("legacy"),
        "edge_media_to_caption": {"edges": [{"node": {"text": "Old #Format"}}]},
        "edge_media_preview_like": {"count": 9},
        "accessibility_caption": None,
        "owner": {"id": OWNER_PK, "username": "alice"},
        "edge_sidecar_to_children": {
            "edges": [
                {
                    "node": {
                        "__typename": "GraphImage",
                        "display_url": cdn("legacy_1"),
                        "is_video": False,
                        "accessibility_caption": "May be an image of a boat.",
                    }
                },
                {
                    "node": {
                        "__typename": "GraphVideo",
                        "display_url": cdn("legacy_2"),
                        "is_video": True,
                        "video_url": cdn("legacy_2_video"),
                        "accessibility_caption": None,
                    }
                },
            ]
        },
    }
    bare = {
        "__typename": "GraphImage",
        "id": "3012345678901234568",
        "shortcode": "Cbare000001",
        "date": T0 - DAY,
        "is_video": False,
        "display_url": cdn("bare"),
        "caption": "no likes, no alt",
    }
    for name, node in (("2024-06-01_12-00-00_UTC", legacy), ("2024-05-31_12-00-00_UTC", bare)):
        with lzma.open(folder / f"{name}.json.xz", "wt") as fp:
            json.dump({"node": node, "instaloader": {"version": "4.10", "node_type": "Post"}}, fp)
    for name in ("2024-06-01_12-00-00_UTC_1.jpg", "2024-06-01_12-00-00_UTC_2.jpg", "2024-05-31_12-00-00_UTC.webp"):
        (folder / name).write_bytes(image_bytes(7))
    (folder / "2024-05-30_12-00-00_UTC.json.xz").write_bytes(b"not xz at all")

    items = list(InstagramDirSource("@Alice", folder).records())
    records = {r.source_id: r for r in items if isinstance(r, SourceRecord)}

    assert list(records) == ["Cabc123defg_1", "Cabc123defg_2", "Cbare000001"]
    (unreadable,) = [r for r in items if isinstance(r, SkippedRecord)]
    assert unreadable.source_id == "2024-05-30_12-00-00_UTC.json.xz"
    assert unreadable.reason.startswith("its metadata cannot be read (")
    first, second, bare_record = records.values()
    assert (first.text, first.hashtags, first.likes, first.alt_text) == (
        "Old #Format",
        ("format",),
        9,
        "May be an image of a boat.",
    )
    assert (second.media_type, second.alt_text, second.extra["owner"]) == ("video", "", "alice")
    assert first.taken_at == datetime(2024, 6, 1, 12, tzinfo=UTC)
    # Not in the file: instaloader would fetch likes and alt text; offline they are simply unknown.
    assert (bare_record.likes, bare_record.alt_text, bare_record.text) == (None, "", "no likes, no alt")
    assert bare_record.image_path.suffix == ".webp"


def test_a_missing_folder_is_not_found(tmp_path):
    with pytest.raises(SourceNotFound, match="is not a folder"):
        list(InstagramDirSource("alice", tmp_path / "nowhere").records())


# --- Into the database ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_interrupted_then_resumed_import_stores_what_an_uninterrupted_one_does(tmp_path):
    from profiles.models import Photo
    from profiles.services.photos import records_ingest
    from profiles.services.profiles import profile_get_or_create

    def run(profile, context, resume_dir):
        src = InstagramSource("alice", resume_dir=resume_dir, loader=loader_for(context), fetch=fetch)
        records_ingest(profile=profile, records=src.records(), read=src.read)

    def stored(profile) -> set[str]:
        return set(Photo.objects.filter(profile=profile).values_list("source_id", flat=True))

    reference = profile_get_or_create(source_kind="instagram", handle="alice-reference")
    run(reference, FakeInstagram(), tmp_path / "reference")

    profile = profile_get_or_create(source_kind="instagram", handle="alice")
    with pytest.raises(SourceRefused):
        run(
            profile,
            FakeInstagram(failures={cursor_after(1): instaloader_error(429, {"status": "fail"})}),
            tmp_path / "resume",
        )
    assert stored(profile) == set(ALL_IDS[:5])  # rows written before the refusal stay

    run(profile, FakeInstagram(), tmp_path / "resume")
    assert stored(profile) == stored(reference) == set(ALL_IDS)
    photo = Photo.objects.get(profile=profile, source_id="C7carousel1_2")
    assert (photo.permalink, photo.alt_text, photo.hashtags) == (
        "https://www.instagram.com/p/C7carousel1/",
        "May be a video of a tram.",
        "porto travel",
    )

    count = Photo.objects.count()
    run(profile, FakeInstagram(), tmp_path / "resume")
    assert Photo.objects.count() == count
