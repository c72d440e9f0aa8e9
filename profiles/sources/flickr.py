"""Flickr source: the public photos of an album or a member's photostream, through the REST API. Failures are
``SourceError``s that never show the API key; ``read`` lets ``FetchError`` through to skip one photo."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

from profiles.fetch import FetchError, TransientFetchError, fetch_image, fetch_json
from profiles.sources.base import (
    SkippedRecord,
    SourceNotFound,
    SourceRecord,
    SourceRefused,
    SourceUnavailable,
    records_isolated,
)

API_URL = "https://api.flickr.com/services/rest/"
KEY_HELP = (
    "FLICKR_API_KEY is not set; get a key at https://www.flickr.com/services/apps/create/ and export FLICKR_API_KEY=…"
)
MAX_PER_PAGE = 500  # Flickr's documented maximum for both list methods
# Preferred first: url_l is plenty for search and thumbnails; url_o only exists when the owner allows downloads;
# url_z and url_m exist for every photo, so small uploads still import.
IMAGE_SIZES = ("url_l", "url_c", "url_o", "url_z", "url_m")
EXTRAS = ",".join(
    (
        "description",
        "license",
        "date_taken",
        "date_upload",
        "owner_name",
        "tags",
        "media",
        "path_alias",
        "geo",
        *IMAGE_SIZES,
    )
)
# datetakengranularity → what extra["date_taken"] says (0, exact to the second, says nothing).
DATE_GRANULARITY = {4: "month", 6: "year", 8: "circa"}
MIN_GEO_ACCURACY = 11  # Flickr's accuracy: 1 world, ~3 country, ~6 region, ~11 city, 16 street

# flickr.photos.licenses.getInfo as documented; other ids show as "Flickr licence N" (``license_id`` keeps the id).
LICENSES: dict[int, str] = {
    0: "All Rights Reserved",
    1: "Attribution-NonCommercial-ShareAlike License",
    2: "Attribution-NonCommercial License",
    3: "Attribution-NonCommercial-NoDerivs License",
    4: "Attribution License",
    5: "Attribution-ShareAlike License",
    6: "Attribution-NoDerivs License",
    7: "No known copyright restrictions",
    8: "United States Government Work",
    9: "Public Domain Dedication (CC0)",
    10: "Public Domain Mark",
}

_NSID = re.compile(r"^\d+@N\d+$")
_ALBUM_URL = re.compile(r"/photos/([^/]+)/(?:albums|sets)/(\d+)")
_USER_URL = re.compile(r"/(?:photos|people)/([^/?#]+)")
_BREAK = re.compile(r"<br\s*/?>|</p\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_NOT_FOUND_CODES = frozenset({1, 2})
_UNAVAILABLE_CODES = frozenset({0, 105, 106})
_INVALID_KEY = 100


class FlickrSource:
    """Records for every public photo of one album (``album``: id or album URL) or one member (``user``: NSID, screen
    name or profile URL). Exactly one of the two. ``fetch_json``/``fetch`` are injectable for tests."""

    def __init__(
        self,
        *,
        album: str | None = None,
        user: str | None = None,
        api_key: str,
        api_url: str = API_URL,
        fetch_json: Callable[..., dict[str, Any]] = fetch_json,
        fetch: Callable[[str], bytes] = fetch_image,
        per_page: int = MAX_PER_PAGE,
    ):
        album = (album or "").strip() or None
        user = (user or "").strip() or None
        if (album is None) == (user is None):
            raise ValueError("FlickrSource needs exactly one of album= or user=.")
        self._api_key = (api_key or "").strip()
        if not self._api_key:
            raise SourceRefused(KEY_HELP)
        self._api_url = api_url  # FLICKR_API_URL: another address (a recorded server, a proxy) in its place
        self._fetch_json = fetch_json
        self._fetch = fetch
        self._per_page = max(1, min(int(per_page), MAX_PER_PAGE))
        self._album: str | None = None
        self._album_owner: str | None = None
        if album is not None:
            self._album, self._album_owner = _parse_album(album)
        self._user = user
        self._nsid: str | None = None

    # -- Source protocol -------------------------------------------------------------------------------------------

    def records(self) -> Iterator[SourceRecord | SkippedRecord]:
        """Every photo, page by page (``per_page``, all ``pages``). Photos that Flickr lists twice (pages shift when
        the owner uploads during the run) are yielded, or reported skipped, once."""
        seen: set[str] = set()
        for photo, owner in self._photos():
            photo_id = str(photo["id"])
            if photo_id in seen:
                continue
            seen.add(photo_id)
            if not any(photo.get(size) for size in IMAGE_SIZES):
                yield SkippedRecord(photo_id, "Flickr offers no downloadable size of this photo to this API key")
                continue
            # A photo Flickr describes in a shape we do not expect costs that photo alone.
            yield from records_isolated(photo_id, lambda: [self._record(photo, owner)])  # noqa: B023 (called at once)

    def read(self, record: SourceRecord) -> bytes:
        if not record.image_url:
            raise FetchError("Flickr gave no image URL for this photo")
        return self._fetch(record.image_url)

    # -- listing ---------------------------------------------------------------------------------------------------

    def _photos(self) -> Iterator[tuple[dict[str, Any], str]]:
        if self._album is not None:
            method, container_key = "flickr.photosets.getPhotos", "photoset"
            params: dict[str, Any] = {"photoset_id": self._album, **self._album_user_param()}
        else:
            method, container_key = "flickr.people.getPublicPhotos", "photos"
            params = {"user_id": self._user_nsid()}
        page = 1
        while True:
            payload = self._call(method, **params, extras=EXTRAS, per_page=self._per_page, page=page)
            container = payload.get(container_key) or {}
            owner = str(container.get("owner") or self._nsid or "")
            photos = container.get("photo") or []
            for photo in photos:
                if isinstance(photo, dict) and photo.get("id"):
                    yield photo, owner
            pages = _int(container.get("pages")) or 1
            if page >= pages or not photos:
                return
            page += 1

    def _album_user_param(self) -> dict[str, str]:
        return {"user_id": self._album_owner} if self._album_owner else {}

    def _user_nsid(self) -> str:
        if self._nsid is None:
            assert self._user is not None
            self._nsid = self._resolve_user(self._user)
        return self._nsid

    def _resolve_user(self, user: str) -> str:
        """The NSID of ``user``: an NSID, a profile URL, a screen name, or else the URL alias."""
        if _NSID.match(user):
            return user
        if urlsplit(user).scheme in ("http", "https"):
            match = _USER_URL.search(urlsplit(user).path)
            if match and _NSID.match(match.group(1)):
                return match.group(1)
            return self._lookup_url(user)
        try:
            payload = self._call("flickr.people.findByUsername", username=user)
        except SourceNotFound:
            try:
                return self._lookup_url(f"https://www.flickr.com/photos/{quote(user)}/")
            except SourceNotFound:
                raise SourceNotFound(f"No Flickr member is called {user!r} (screen name, URL alias or NSID).") from None
        found = payload.get("user") or {}
        nsid = str(found.get("nsid") or found.get("id") or "")
        if not nsid:
            raise SourceNotFound(f"No Flickr member is called {user!r}.")
        return nsid

    def _lookup_url(self, url: str) -> str:
        payload = self._call("flickr.urls.lookupUser", url=url)
        found = payload.get("user") or {}
        nsid = str(found.get("id") or found.get("nsid") or "")
        if not nsid:
            raise SourceNotFound(f"Flickr knows no member at {url}.")
        return nsid

    # -- one photo -------------------------------------------------------------------------------------------------

    def _record(self, photo: dict[str, Any], container_owner: str) -> SourceRecord:
        photo_id = str(photo["id"])
        owner = str(photo.get("owner") or container_owner or "")
        title = html.unescape(str(photo.get("title") or "")).strip()
        description = _plain_text(_content(photo.get("description")))
        text = "\n\n".join(part for part in (title, description) if part)
        tags: dict[str, None] = {}
        for tag in str(photo.get("tags") or "").split():
            tags.setdefault(tag.lower(), None)
        license_id = _int(photo.get("license"))
        extra: dict[str, Any] = {
            "license": _license_name(license_id, photo.get("license")),
            "license_id": license_id if license_id is not None else photo.get("license"),
            "owner": owner,
            "owner_name": str(photo.get("ownername") or ""),
            "post": photo_id,
        }
        image_url = next((str(photo[size]) for size in IMAGE_SIZES if photo.get(size)), "")
        taken_at, precision = _taken_at(photo)
        if precision:
            extra["date_taken"] = precision
        latitude, longitude, accuracy = _geo(photo)
        if accuracy is not None:
            extra["geo_accuracy"] = accuracy
        return SourceRecord(
            source_id=photo_id,
            image_url=image_url,
            permalink=f"https://www.flickr.com/photos/{owner}/{photo_id}/" if owner else "",
            taken_at=taken_at,
            text=text,
            hashtags=tuple(tags),
            media_type="video" if photo.get("media") == "video" else "image",
            extra=extra,
            latitude=latitude,
            longitude=longitude,
            place_id=str(photo.get("place_id") or "") if latitude is not None else "",
            people=_owner_names(photo),
        )

    # -- API -------------------------------------------------------------------------------------------------------

    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        query = {
            "method": method,
            "api_key": self._api_key,
            "format": "json",
            "nojsoncallback": "1",
            **{name: str(value) for name, value in params.items()},
        }
        try:
            payload = self._fetch_json(self._api_url, params=query)
        except TransientFetchError as exc:
            reason = self._scrub(str(exc))
            if _http_status(exc) == 429:
                wait = f" (Flickr asks to wait {exc.retry_after:.0f} s)" if exc.retry_after else ""
                raise SourceRefused(f"Flickr is rate-limiting this API key{wait}; try again later.") from None
            raise SourceUnavailable(f"Flickr's API is not reachable right now ({reason}); try again later.") from None
        except FetchError as exc:
            reason = self._scrub(str(exc))
            if "did not answer with JSON" in reason:
                raise SourceUnavailable(
                    f"Flickr's API gave an unexpected answer ({reason}); try again later."
                ) from None
            if _http_status(exc) in (401, 403):
                raise SourceRefused(f"Flickr refused the request ({reason}); check FLICKR_API_KEY.") from None
            raise SourceRefused(f"Flickr's API cannot be used ({reason}).") from None
        if not isinstance(payload, dict):
            raise SourceUnavailable("Flickr's API gave an unexpected answer (not a JSON object); try again later.")
        if payload.get("stat") != "ok":
            self._raise_api_error(method, payload)
        return payload

    def _raise_api_error(self, method: str, payload: dict[str, Any]) -> NoReturn:
        code = _int(payload.get("code"))
        message = self._scrub(str(payload.get("message") or "no message"))
        if code == _INVALID_KEY:
            raise SourceRefused(
                f"Flickr rejected the API key ({message}); check that FLICKR_API_KEY is the key of an active app at "
                "https://www.flickr.com/services/apps/ (not the secret)."
            )
        if code in _NOT_FOUND_CODES:
            if method.startswith("flickr.photosets.") and code == 1:
                raise SourceNotFound(f"Flickr album {self._album} does not exist or is not public ({message}).")
            who = self._user or self._album_owner or "the album's owner"
            raise SourceNotFound(f"Flickr found no member {who!r} ({message}).")
        if code in _UNAVAILABLE_CODES:
            raise SourceUnavailable(f"Flickr's API is temporarily unavailable ({message}); try again later.")
        raise SourceRefused(f"Flickr refused {method}: {message} (error {code}).")

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text


# -- helpers -----------------------------------------------------------------------------------------------------------


def _parse_album(album: str) -> tuple[str, str | None]:
    """An album id, or an album URL (``…/photos/<owner>/albums/<id>``): the id, and the owner when it is an NSID."""
    if urlsplit(album).scheme in ("http", "https"):
        match = _ALBUM_URL.search(urlsplit(album).path)
        if not match:
            raise SourceNotFound(f"{album} is not a Flickr album URL (…/photos/<owner>/albums/<id>).")
        owner = match.group(1)
        return match.group(2), owner if _NSID.match(owner) else None
    return album, None


def _content(value: Any) -> str:
    """Flickr's JSON wraps text as {"_content": "…"}; some fields are plain strings."""
    if isinstance(value, dict):
        value = value.get("_content")
    return str(value or "").strip()


def _plain_text(description: str) -> str:
    """Descriptions may hold HTML (links, <b>…, <br>) and entities: keep the words and the line breaks."""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", description))).strip()


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _license_name(license_id: int | None, raw: Any) -> str:
    if license_id is None:
        return "" if raw in (None, "") else f"Flickr licence {raw}"
    return LICENSES.get(license_id, f"Flickr licence {license_id}")


def _taken_at(photo: dict[str, Any]) -> tuple[datetime | None, str]:
    """The date taken, and how precise it is ("" exact, "month", "year", "circa", "unknown": the upload time).

    ``datetaken`` has no zone and is read as UTC; when Flickr marks it unknown, the upload time is used."""
    upload = _int(photo.get("dateupload"))
    try:
        uploaded = datetime.fromtimestamp(upload, tz=UTC) if upload else None
    except (OverflowError, OSError, ValueError):  # a time past datetime's range: no date, the photo kept
        uploaded = None
    if str(photo.get("datetakenunknown") or "0") == "1":
        return uploaded, "unknown" if uploaded else ""
    raw = str(photo.get("datetaken") or "").strip()
    try:
        taken = datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)  # local time, read as UTC
    except ValueError:
        return uploaded, "unknown" if uploaded else ""  # missing or "0000-00-00 00:00:00"
    return taken, DATE_GRANULARITY.get(_int(photo.get("datetakengranularity")) or 0, "")


def _geo(photo: dict[str, Any]) -> tuple[float | None, float | None, int | None]:
    """Latitude, longitude and Flickr's accuracy (1–16) of a geotag fine enough to name a town; Nones otherwise."""
    try:
        latitude, longitude = float(photo.get("latitude") or 0), float(photo.get("longitude") or 0)
    except (TypeError, ValueError):
        return None, None, None
    if latitude == 0 and longitude == 0:  # Flickr's "not geotagged" (or geotag hidden from this key)
        return None, None, None
    accuracy = _int(photo.get("accuracy"))
    if accuracy is not None and accuracy < MIN_GEO_ACCURACY:
        return None, None, accuracy
    return latitude, longitude, accuracy


def _owner_names(photo: dict[str, Any]) -> tuple[str, ...]:
    """The owner as a handle: the path alias (their flickr.com/photos/NAME), else a one-word screen name."""
    alias = str(photo.get("pathalias") or "").strip()
    if alias:
        return (alias,)
    screen_name = str(photo.get("ownername") or "").strip()
    return (screen_name,) if screen_name and len(screen_name.split()) == 1 else ()


def _http_status(exc: FetchError) -> int | None:
    """The HTTP status behind a ``FetchError`` ("HTTP 429 from host"), when there is one."""
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return status
    match = re.match(r"HTTP (\d{3}) ", str(exc))
    return int(match.group(1)) if match else None
