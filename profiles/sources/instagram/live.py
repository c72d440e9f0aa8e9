"""Instagram, live: a profile's posts through instaloader (in practice a logged-in session). Records come from
``posts.post_records``, as offline ones do, so the two never duplicate."""

from __future__ import annotations

import http.cookiejar
import io
import logging
import pickle
import re
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import instaloader
from instaloader import InstaloaderContext, Post, Profile
from instaloader.instaloader import get_default_session_filename, get_legacy_session_filename

from profiles.fetch import fetch_image
from profiles.images import ImageRejected, read_regular_file
from profiles.sources.base import (
    SkippedRecord,
    SourceNotFound,
    SourceRecord,
    SourceRefused,
    SourceUnavailable,
    records_isolated,
)
from profiles.sources.instagram.errors import INSTAGRAM_ERRORS, ThrottleWaitTooLong, source_error
from profiles.sources.instagram.posts import is_pinned, post_records, raw_node

logger = logging.getLogger(__name__)

# Pinned posts (up to three) come first whatever their age and are not marked reliably: as instaloader's
# --fast-update, the first three positions never end a fast update.
POSSIBLY_PINNED = 3
# Settings of the Instaloader we build: fail fast rather than sleep for minutes or retry for long.
FATAL_STATUS_CODES = (400, 401, 403, 429)  # → AbortDownloadException instead of instaloader's retries and sleeps
MAX_CONNECTION_ATTEMPTS = 2
REQUEST_TIMEOUT_SECONDS = 30.0
MAX_THROTTLE_WAIT_SECONDS = 30.0  # instaloader's own request throttle may wait this long; longer ends the run
_USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")  # Instagram's alphabet; also keeps file names we derive safe
_SESSION_FILE_NAME = re.compile(r"^session-([A-Za-z0-9._]{1,30})$")  # what `instaloader --login USER` writes


# --- Live import ------------------------------------------------------------------------------------------------


class InstagramSource:
    """Live import of a profile's posts.

    Session, at most one: ``session_file`` (instaloader's), ``login`` (the session ``instaloader --login USER`` saved;
    never a password prompt) or ``cookies_file`` (a Netscape cookies.txt); none tries anonymously. ``limit``: posts by
    position, as ``--count``. ``fast_update``: stop at the first post ``known_post`` knows, pinned ones skipped. A
    refusal mid-profile raises ``SourceRefused`` with the position saved in ``resume_dir`` for the next run.
    """

    def __init__(
        self,
        username: str,
        *,
        session_file: Path | None = None,
        login: str | None = None,
        cookies_file: Path | None = None,
        fast_update: bool = False,
        known_post: Callable[[str], bool] = lambda shortcode: False,
        limit: int | None = None,
        resume_dir: Path,
        loader: instaloader.Instaloader | None = None,
        fetch: Callable[[str], bytes] = fetch_image,
    ):
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        self.username = instagram_handle(username)
        self.session_file = Path(session_file).expanduser() if session_file is not None else None
        self.login = login.strip().lstrip("@") if login else None
        self.cookies_file = Path(cookies_file).expanduser() if cookies_file is not None else None
        self.fast_update = fast_update
        self.known_post = known_post
        self.limit = limit
        self.resume_dir = Path(resume_dir)
        self._loader = loader
        self._fetch = fetch

    def records(self) -> Iterator[SourceRecord | SkippedRecord]:
        loader: instaloader.Instaloader | None = None
        try:
            _check_username(self.username, "profile")
            loader = self._loader if self._loader is not None else default_loader()
            self._log_in(loader)
            profile = Profile.from_username(loader.context, self.username)
            yield from self._posts_records(loader.context, profile.get_posts())
        except INSTAGRAM_ERRORS as exc:
            context = loader.context if loader is not None else None
            viewer = context.username if context is not None and context.is_logged_in else None
            error = source_error(exc, profile=self.username, viewer=viewer)
            logger.warning("Instagram import of %s stopped: %s (%s: %s)", self.username, error, type(exc).__name__, exc)
            raise error from exc

    def read(self, record: SourceRecord) -> bytes:
        return self._fetch(record.image_url)

    # Posts, resume and fast update.

    def _posts_records(
        self, context: InstaloaderContext, posts: Iterator[Post]
    ) -> Iterator[SourceRecord | SkippedRecord]:
        try:
            self.resume_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SourceUnavailable(
                f"Cannot create the resume folder {self.resume_dir} ({exc.strerror or exc}); check its permissions."
            ) from exc
        # An exception inside saves the iterator's state; leaving the block normally deletes it.
        with instaloader.resumable_iteration(
            context=context,
            iterator=posts,
            load=instaloader.load_structure_from_file,
            save=instaloader.save_structure_to_file,
            format_path=self._resume_file,
        ) as (is_resuming, start_index):
            if self.limit is not None and start_index >= self.limit:
                return
            for number, post in enumerate(posts, start=start_index + 1):
                pinned = is_pinned(raw_node(post))
                if self.fast_update and self.known_post(post.shortcode):
                    resumed_post = is_resuming and number == start_index + 1
                    if pinned or number <= POSSIBLY_PINNED or resumed_post:
                        continue  # known, but says nothing about the posts after it
                    return
                # The profile's name stands in for an owner the data does not name.
                yield from self._downloadable(
                    records_isolated(
                        str(post.shortcode),
                        lambda: post_records(post, owner=self.username),  # noqa: B023 (called at once)
                        propagate=INSTAGRAM_ERRORS,
                    )
                )
                if self.limit is not None and number >= self.limit:
                    return  # before asking for the next post, which may cost a page request

    def _resume_file(self, magic: str) -> str:
        # A str: instaloader.load_structure_from_file() tests the name with str.endswith().
        return str(self.resume_dir / f"{self.username}_{magic}.json.xz")

    @staticmethod
    def _downloadable(records: Iterable[SourceRecord | SkippedRecord]) -> Iterator[SourceRecord | SkippedRecord]:
        for record in records:
            if isinstance(record, SourceRecord) and not record.image_url:
                record = SkippedRecord(record.source_id, "Instagram gave no image URL for it")
            yield record

    # Sessions.

    def _log_in(self, loader: instaloader.Instaloader) -> None:
        """Load the session chosen (or none: anonymous)."""
        if self.session_file is not None:
            name = self.login or _session_file_owner(self.session_file)
            _session_load(loader, _session_file_read(self.session_file), name, f"session file {self.session_file}")
        elif self.login is not None:
            _check_username(self.login, "login")
            path = _saved_session_path(self.login)
            if path is None:
                raise SourceRefused(
                    f"There is no saved Instagram session for {self.login}; run `instaloader --login {self.login}` "
                    f"once in a terminal (it asks for the password and saves the session), then import again."
                )
            _session_load(loader, _session_file_read(path), self.login, f"the saved session of {self.login}")
        elif self.cookies_file is not None:
            _session_load(loader, _cookies_file_read(self.cookies_file), None, f"cookies file {self.cookies_file}")


def default_loader() -> instaloader.Instaloader:
    """An Instaloader for background imports: quiet, writes nothing, never prompts, and fails fast rather than
    retrying or sleeping for hours (``FATAL_STATUS_CODES``, the timeouts above)."""
    return instaloader.Instaloader(
        sleep=True,  # instaloader's short random pause between requests (seconds): it keeps rate limits away
        quiet=True,
        download_pictures=False,
        download_videos=False,
        download_video_thumbnails=False,
        download_geotags=False,
        download_comments=False,
        save_metadata=False,
        post_metadata_txt_pattern="",
        max_connection_attempts=MAX_CONNECTION_ATTEMPTS,
        request_timeout=REQUEST_TIMEOUT_SECONDS,
        rate_controller=ImpatientRateController,
        resume_prefix=None,  # we resume ourselves, in resume_dir
        fatal_status_codes=list(FATAL_STATUS_CODES),
    )


class ImpatientRateController(instaloader.RateController):
    """instaloader's throttle, but a longer wait than ``MAX_THROTTLE_WAIT_SECONDS`` ends the run (position saved)
    rather than block a worker for up to an hour."""

    def sleep(self, secs: float) -> None:
        if secs > MAX_THROTTLE_WAIT_SECONDS:
            raise ThrottleWaitTooLong(secs)
        time.sleep(secs)


def instagram_handle(username: str) -> str:
    return username.strip().lstrip("@").lower()


def _check_username(name: str, what: str) -> None:
    if not _USERNAME.match(name):
        raise SourceNotFound(
            f"{name!r} is not a valid Instagram {what} name; use the account name as in instagram.com/NAME."
        )


def _saved_session_path(login: str) -> Path | None:
    """Where `instaloader --login LOGIN` saved its session (its default path, or the pre-4.4.4 one), if any."""
    for candidate in (get_default_session_filename(login), get_legacy_session_filename(login)):
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def _session_file_owner(path: Path) -> str | None:
    match = _SESSION_FILE_NAME.match(path.name)
    return match.group(1) if match else None


class _CookiesOnlyUnpickler(pickle.Unpickler):
    """Refuses any class: a session file is a pickled dict of cookies, and unpickling anything else could run code."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"unexpected object {module}.{name}")


_SESSION_MAX_BYTES = 1024 * 1024  # instaloader's session files are a few hundred bytes
_NOT_A_SESSION_FILE = "{path} is not an instaloader session file; create one with `instaloader --login YOUR_ACCOUNT`."


def _session_file_read(path: Path) -> dict[str, str]:
    """The cookies of an instaloader session file (what ``Instaloader.save_session_to_file`` wrote)."""
    try:
        # A regular file only (a named pipe would block the run), of a session file's size at most.
        data = _CookiesOnlyUnpickler(io.BytesIO(read_regular_file(path, max_bytes=_SESSION_MAX_BYTES))).load()
    except ImageRejected as exc:
        raise SourceRefused(f"Cannot read the session file {path}: {exc}.") from None
    except FileNotFoundError:
        raise SourceNotFound(f"The session file {path} does not exist; check the path.") from None
    except OSError as exc:
        raise SourceRefused(
            f"Cannot read the session file {path} ({exc.strerror or exc}); check its permissions."
        ) from exc
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise SourceRefused(_NOT_A_SESSION_FILE.format(path=path)) from exc
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise SourceRefused(_NOT_A_SESSION_FILE.format(path=path))
    return data


def _cookies_file_read(path: Path) -> dict[str, str]:
    """Instagram's cookies from a Netscape cookies.txt (what browser "export cookies" extensions write)."""
    jar = http.cookiejar.MozillaCookieJar()
    try:
        if path.exists() and not path.is_file():  # a named pipe would block the run
            raise SourceRefused(f"Cannot read the cookies file {path}: not a regular file.")
        jar.load(str(path), ignore_discard=True, ignore_expires=True)
    except FileNotFoundError:
        raise SourceNotFound(f"The cookies file {path} does not exist; check the path.") from None
    except (http.cookiejar.LoadError, UnicodeDecodeError) as exc:
        raise SourceRefused(
            f"{path} is not a Netscape cookies.txt file; export the cookies of instagram.com again in that format."
        ) from exc
    except OSError as exc:
        raise SourceRefused(
            f"Cannot read the cookies file {path} ({exc.strerror or exc}); check its permissions."
        ) from exc
    return {cookie.name: cookie.value or "" for cookie in jar if cookie.domain.lstrip(".").endswith("instagram.com")}


def _session_load(loader: instaloader.Instaloader, cookies: dict[str, str], account: str | None, origin: str) -> None:
    """Make ``loader`` use the logged-in session in ``cookies``; ask Instagram whose it is when not known."""
    if not cookies.get("sessionid") or not cookies.get("csrftoken"):
        raise SourceRefused(
            f"The {origin} holds no Instagram login (no sessionid/csrftoken cookie); log in to instagram.com "
            f"(or run `instaloader --login YOUR_ACCOUNT`) and try again with a fresh session."
        )
    loader.load_session(account or "", cookies)
    if account:
        return
    # As instaloader's --load-cookies does. test_login() answers None also when Instagram cannot be reached.
    account = loader.test_login()
    if not account:
        raise SourceRefused(
            f"Instagram did not confirm the login in the {origin} (it has expired or been logged out, or Instagram "
            f"could not be reached); log in again, export a fresh session, then import again."
        )
    loader.context.username = account
