"""URL-list source: images named by URL in a local file (formats: README.md, "Sources"), downloaded SSRF-safe. A
non-http(s) entry is named ``line N``/``item N``, never by its content: a job's problems are public."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

from profiles.fetch import FetchError, fetch_image
from profiles.images import ImageRejected, read_regular_file
from profiles.sources.base import (
    SkippedRecord,
    SourceError,
    SourceNotFound,
    SourceRecord,
    hashtags_in,
    records_isolated,
)
from profiles.sources.instagram.ids import instagram_permalink, instagram_source_id

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_SOURCE_ID = 512  # Photo.source_id max_length


class UrlListError(SourceError):
    """The URL list cannot be parsed."""


class UrlListSource:
    def __init__(self, path: Path, *, fetch: Callable[[str], bytes] = fetch_image):
        self.path = Path(path).expanduser()
        self._fetch = fetch

    def records(self) -> Iterator[SourceRecord | SkippedRecord]:
        """Parse the whole file first (so a broken file fails before anything is imported), then yield."""
        records = self.parse()
        yield from records

    def parse(self) -> list[SourceRecord | SkippedRecord]:
        text = self._read_text()
        records: Sequence[SourceRecord | SkippedRecord]
        stripped = text.lstrip()
        if stripped.startswith(("[", "{")):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise UrlListError(
                    f"{self.path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
                ) from None
            except RecursionError:
                raise UrlListError(f"{self.path} is JSON nested too deeply to read.") from None
            records = self._from_json(data)
        else:
            records = self._from_lines(text)
        return _unique(records)

    def read(self, record: SourceRecord) -> bytes:
        url = record.image_url
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError:
            scheme = ""
        if scheme not in ("http", "https"):
            raise FetchError("not an http(s) URL")
        return self._fetch(url)

    # -- formats ---------------------------------------------------------------------------------------------------

    def _read_text(self) -> str:
        try:
            # A regular file only (a named pipe would block the import forever), read with a bound.
            raw = read_regular_file(self.path, max_bytes=MAX_FILE_BYTES, too_large=UrlListError)
        except ImageRejected as exc:  # read_regular_file's word for "not a regular file"
            if self.path.is_dir():
                raise UrlListError(f"{self.path} is a folder, not a URL list file.") from None
            raise UrlListError(f"{self.path} cannot be read: {exc}.") from None
        except FileNotFoundError:
            raise SourceNotFound(f"{self.path} does not exist.") from None
        except IsADirectoryError:
            raise UrlListError(f"{self.path} is a folder, not a URL list file.") from None
        except OSError as exc:
            raise UrlListError(f"{self.path} cannot be read ({exc.strerror or exc}).") from None
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise UrlListError(f"{self.path} is not UTF-8 text (bad byte at line {line}, byte {exc.start}).") from None

    def _from_lines(self, text: str) -> list[SourceRecord]:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            url = line.strip()
            if not url or url.startswith("#"):
                continue
            records.append(_url_record(url, where=f"line {number}"))
        return records

    def _from_json(self, data: Any) -> list[SourceRecord | SkippedRecord]:
        if isinstance(data, dict):
            if isinstance(data.get("GraphImages"), list):
                items = data["GraphImages"]
                records: list[SourceRecord | SkippedRecord] = []
                for index, item in enumerate(items, start=1):
                    if not isinstance(item, dict):
                        raise UrlListError(f"{self.path}: GraphImages item {index} is not an object.")
                    records.extend(records_isolated(f"post {index}", lambda: self._instagram_records(item, index)))  # noqa: B023
                return records
            raise UrlListError(
                f'{self.path}: a JSON object must be instagram-scraper metadata with a "GraphImages" list; '
                'otherwise give a list of URLs or of objects with "url".'
            )
        if not isinstance(data, list):
            raise UrlListError(f'{self.path}: expected a JSON list of URLs or of objects with "url".')
        records = []
        for index, item in enumerate(data, start=1):
            if isinstance(item, str):
                if item.strip():
                    records.append(_url_record(item.strip(), where=f"item {index}"))
            # A malformed item stops the list (UrlListError); any other failure costs that item alone.
            elif isinstance(item, dict) and "url" in item:
                records.extend(records_isolated(f"item {index}", lambda: [self._object_record(item, index)]))  # noqa: B023
            elif isinstance(item, dict) and item.get("shortcode") and (item.get("display_url") or item.get("urls")):
                records.extend(records_isolated(f"item {index}", lambda: self._instagram_records(item, index)))  # noqa: B023
            else:
                # Its type, never its content: the file may be any file on the server, and errors are public.
                raise UrlListError(
                    f'{self.path}: item {index} is neither a URL string nor an object with "url" '
                    f"(got {_json_type(item)})."
                )
        return records

    def _object_record(self, item: dict[str, Any], index: int) -> SourceRecord:
        where = f"{self.path}: item {index}"
        url = item.get("url")
        if not isinstance(url, str) or not url.strip():
            raise UrlListError(f'{where} has no usable "url" (a non-empty string).')
        url = url.strip()
        text = item.get("caption") if item.get("caption") is not None else item.get("text")
        text = "" if text is None else str(text).strip()
        tags = item.get("tags") or item.get("hashtags") or []
        if isinstance(tags, str):
            tags = tags.split()
        if not isinstance(tags, list):
            raise UrlListError(f'{where}: "tags" must be a list of words.')
        permalink = str(item.get("permalink") or "").strip()
        raw_id = item.get("id")
        return SourceRecord(
            source_id=(
                _fit_id(str(raw_id).strip()) if raw_id not in (None, "") else _url_id(url, where=f"item {index}")
            ),
            image_url=url,
            permalink=permalink if urlsplit(permalink).scheme in ("http", "https") else "",
            taken_at=_parse_time(item.get("taken_at"), where),
            text=text,
            hashtags=_merge_tags(hashtags_in(text), tags),
            alt_text=str(item.get("alt_text") or item.get("alt") or "").strip(),
            extra={},
        )

    def _instagram_records(self, item: dict[str, Any], index: int) -> list[SourceRecord]:
        """One instagram-scraper post: its ``urls`` (several for a carousel) or its ``display_url``."""
        where = f"{self.path}: post {index}"
        shortcode = str(item.get("shortcode") or "").strip()
        if not shortcode:
            raise UrlListError(f'{where} has no "shortcode".')
        urls = [u for u in item.get("urls") or [] if isinstance(u, str) and u.strip()]
        display_url = str(item.get("display_url") or "").strip()
        is_video = bool(item.get("is_video"))
        if is_video and display_url and len(urls) <= 1:
            urls = [display_url]  # the cover image; ``urls`` holds the .mp4
        elif not urls and display_url:
            urls = [display_url]
        if not urls:
            raise UrlListError(f'{where} ({shortcode}) has neither "urls" nor "display_url".')
        text = _instagram_caption(item)
        tags = [t for t in item.get("tags") or [] if isinstance(t, str)]
        taken_at = _parse_time(item.get("taken_at_timestamp"), where)
        likes = _instagram_likes(item)
        alt_text = str(item.get("accessibility_caption") or "").strip()
        owner = str(item.get("username") or "").strip()
        permalink = instagram_permalink(shortcode)
        # Same ids as the Instagram importer: a carousel (GraphSidecar, or several URLs) numbers its items from 1.
        carousel = item.get("__typename") == "GraphSidecar" or len(urls) > 1
        records = []
        for index, url in enumerate(urls, start=1):
            extra: dict[str, Any] = {"post": shortcode}
            if owner:
                extra["owner"] = owner
            if carousel:
                extra["index"] = index
            records.append(
                SourceRecord(
                    source_id=instagram_source_id(shortcode, index, carousel=carousel),
                    image_url=url.strip(),
                    permalink=permalink,
                    taken_at=taken_at,
                    text=text,
                    hashtags=_merge_tags(hashtags_in(text), tags),
                    alt_text=alt_text,
                    media_type="video" if (not carousel and is_video) or _is_video_url(url) else "image",
                    likes=likes,
                    extra=extra,
                )
            )
        return records


# -- helpers -----------------------------------------------------------------------------------------------------------


def _url_record(url: str, *, where: str) -> SourceRecord:
    return SourceRecord(source_id=_url_id(url, where=where), image_url=url)


def _url_id(url: str, *, where: str) -> str:
    """The URL without its fragment; for an entry that is not an http(s) URL, where it stands in the file."""
    try:
        if urlsplit(url).scheme.lower() in ("http", "https"):
            return _fit_id(urldefrag(url).url)
    except ValueError:  # "http://[::1" and the like: not a URL read() could fetch either
        pass
    return where


def _fit_id(source_id: str) -> str:
    if len(source_id) <= MAX_SOURCE_ID:
        return source_id
    return "url-sha256:" + hashlib.sha256(source_id.encode("utf-8")).hexdigest()


def _unique(records: Sequence[SourceRecord | SkippedRecord]) -> list[SourceRecord | SkippedRecord]:
    seen: set[str] = set()
    unique = []
    for record in records:
        if record.source_id not in seen:
            seen.add(record.source_id)
            unique.append(record)
    return unique


def _parse_time(value: Any, where: str) -> datetime | None:
    """ISO 8601 (a missing zone means UTC) or a Unix timestamp (number or digits) → aware UTC datetime."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
            return datetime.fromtimestamp(float(value), tz=UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip())
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
        raise ValueError
    except (ValueError, OverflowError, OSError):
        raise UrlListError(
            f"{where}: cannot read its time (use ISO 8601 like 2021-06-01T18:30:00Z, or a Unix timestamp)."
        ) from None


def _instagram_caption(item: dict[str, Any]) -> str:
    edges = ((item.get("edge_media_to_caption") or {}).get("edges")) or []
    if edges and isinstance(edges[0], dict):
        return str(((edges[0].get("node") or {}).get("text")) or "").strip()
    caption = item.get("caption")
    if isinstance(caption, dict):
        caption = caption.get("text")
    return str(caption or "").strip()


def _instagram_likes(item: dict[str, Any]) -> int | None:
    for key in ("edge_media_preview_like", "edge_liked_by"):
        count = (item.get(key) or {}).get("count") if isinstance(item.get(key), dict) else None
        if isinstance(count, int) and count >= 0:
            return count
    return None


def _merge_tags(found: tuple[str, ...], extra: list[Any]) -> tuple[str, ...]:
    tags: dict[str, None] = dict.fromkeys(found)
    for tag in extra:
        word = str(tag).strip().lstrip("#").lower()
        if word:
            tags.setdefault(word, None)
    return tuple(tags)


def _is_video_url(url: str) -> bool:
    return urlsplit(url).path.lower().endswith((".mp4", ".mov", ".webm"))


def _json_type(value: Any) -> str:
    for kind, name in (
        (bool, "true or false"),
        (dict, "an object"),
        (list, "a list"),
        (str, "a string"),
        (int, "a number"),
        (float, "a number"),
    ):
        if isinstance(value, kind):
            return name
    return "null"
