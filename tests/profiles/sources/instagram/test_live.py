"""Instagram sources, without the network: real instaloader objects fed with canned answers.

``FakeInstagram`` (fake_instagram.py) is an ``InstaloaderContext`` that answers the three requests instaloader 4.16
makes to list a logged-in profile's posts — the profile's page data, the profile query and the pages of the posts
query — from canned JSON (field names as instaloader reads them), and fails the test on any other request. Everything
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
from pathlib import Path

import instaloader
import pytest
import requests
from instaloader import AbortDownloadException, InstaloaderContext, TooManyRequestsException

from profiles.sources.base import SkippedRecord, SourceNotFound, SourceRecord, SourceRefused, SourceUnavailable
from profiles.sources.instagram import live as instagram
from profiles.sources.instagram import offline as instagram_offline
from profiles.sources.instagram.live import InstagramSource
from profiles.sources.instagram.offline import InstagramDirSource
from tests.conftest import image_bytes
from tests.profiles.sources.instagram.fake_instagram import (
    ALL_IDS,
    CAROUSEL,
    CHECKPOINT,
    DAY,
    FATAL,
    IMAGE,
    IMAGES,
    NETWORK_DOWN,
    OWNER_PK,
    PAGES,
    PLEASE_WAIT,
    T0,
    VIDEO,
    VIEWER,
    FakeInstagram,
    cdn,
    cursor_after,
    fetch,
    instaloader_error,
    instaloader_folder,
    loader_for,
    media,
    stamp,
)


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
