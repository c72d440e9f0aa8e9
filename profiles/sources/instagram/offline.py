"""Offline Instagram import of a folder the ``instaloader`` command line wrote; nothing is fetched. A post with metadata
gives the live import's records (same ids: no duplicates); one without is read from its files."""

from __future__ import annotations

import json
import logging
import lzma
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import instaloader
from instaloader import InstaloaderContext, Post

from profiles.images import IMAGE_EXTENSIONS, ImageRejected, read_local_image, read_regular_file
from profiles.sources.base import SkippedRecord, SourceNotFound, SourceRecord, hashtags_in, records_isolated
from profiles.sources.folder import instaloader_stamp_date
from profiles.sources.instagram.live import instagram_handle
from profiles.sources.instagram.posts import NetworkDisabled, Place, post_records

logger = logging.getLogger(__name__)

_METADATA_SUFFIXES = (".json.xz", ".json")
# instaloader's default name of a post's files, and of a carousel item's image.
_POST_STAMP = r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_UTC"
_POST_FILE = re.compile(rf"^({_POST_STAMP})(?:_(\d+))?$")
_TITLE_PIC = re.compile(r"_(profile_pic|highlight_cover)$")  # not posts: the profile's picture, story covers
_MAPS_COORDINATES = re.compile(r"[?&](?:q|ll)=([^,&\s]+),([^&\s]+)")
TEXT_MAX_BYTES = 1_000_000  # a caption is at most 2,200 characters; this bounds the read
# Far above any post's metadata; bounds the read and the parse, compressed or not (.json.xz can inflate to gigabytes).
METADATA_MAX_BYTES = 4 * 1024 * 1024


class MetadataTooLarge(ValueError):
    """A metadata file, or what it decompresses to, is over ``METADATA_MAX_BYTES``."""


class OfflineContext(InstaloaderContext):
    """An instaloader context for saved metadata: every network method raises ``NetworkDisabled``; never logged in,
    so instaloader does not try its iPhone endpoints."""

    NETWORK_METHODS = (
        "get_json",
        "graphql_query",
        "doc_id_graphql_query",
        "graphql_node_list",
        "get_iphone_json",
        "get_raw",
        "get_and_write_raw",
        "head",
        "get_page_data",
        "_get_page",
        "_csrf_token",
        "_web_api_tokens",
        "login",
        "two_factor_login",
        "test_login",
    )

    def __init__(self) -> None:
        super().__init__(sleep=False, quiet=True, max_connection_attempts=1, iphone_support=False)

    def _refuse(self, method: str) -> Any:
        raise NetworkDisabled(f"offline: instaloader wanted to call {method}()")


def _refusing(method: str) -> Callable[..., Any]:
    def refuse(self: OfflineContext, *args: Any, **kwargs: Any) -> Any:
        return self._refuse(method)

    refuse.__name__ = method
    return refuse


for _method in OfflineContext.NETWORK_METHODS:
    setattr(OfflineContext, _method, _refusing(_method))


class InstagramDirSource:
    """Offline import of a folder the ``instaloader`` CLI wrote (not recursive), newest post first.

    ``{name}_location.txt`` fills in a missing place. A post without metadata takes its image's file stem as id (no
    permalink). What cannot be read, links out of the folder included, is a ``SkippedRecord``.
    """

    def __init__(self, username: str, directory: Path):
        self.username = instagram_handle(username)
        self.directory = Path(directory).expanduser()
        self.context = OfflineContext()

    def records(self) -> Iterator[SourceRecord | SkippedRecord]:
        if not self.directory.is_dir():
            raise SourceNotFound(
                f"{self.directory} is not a folder; give the folder the instaloader command wrote for {self.username}."
            )
        files = sorted(p.name for p in self.directory.iterdir() if p.is_file())
        metadata = {_metadata_stem(name): name for name in files if name.endswith(_METADATA_SUFFIXES)}
        images: dict[str, list[tuple[int | None, str]]] = {}  # post name → (carousel index, file name)
        videos = []  # a video post's .mp4, for one without metadata and without its cover image
        for name in files:
            stem, extension = os.path.splitext(name)
            if extension.lower() == ".mp4" and _POST_FILE.match(stem):
                videos.append(name)
            if extension.lower() not in IMAGE_EXTENSIONS or name.startswith("."):
                continue
            match = _POST_FILE.match(stem)
            if match is not None:
                images.setdefault(match.group(1), []).append((int(match.group(2)) if match.group(2) else None, name))
            elif not _TITLE_PIC.search(stem) and not _belongs_to(stem, metadata):
                yield SkippedRecord(
                    name, "not named like a post's image by instaloader ({date}_UTC.jpg); import it with import_folder"
                )
        for name in videos:
            video = _POST_FILE.match(os.path.splitext(name)[0])
            assert video is not None  # only names that match were listed
            base = video.group(1)
            if base not in metadata and base not in images:
                yield SkippedRecord(
                    name, "a video without its cover image (--no-video-thumbnails); a video is imported as its cover"
                )
        # Newest first, as a profile lists its posts (instaloader's default names start with the date).
        for base in sorted(metadata.keys() | images.keys(), reverse=True):
            if base in metadata:
                yield from self._post_with_metadata(base, metadata[base])
            else:
                yield from records_isolated(
                    base,
                    lambda: self._post_from_files(base, sorted(images[base], key=_item_order)),  # noqa: B023 (called at once)
                )

    def read(self, record: SourceRecord) -> bytes:
        assert record.image_path is not None
        if not self._inside(record.image_path):
            raise ImageRejected("a link that leads outside the imported folder (not followed)")
        return read_local_image(record.image_path)

    # One post.

    def _post_with_metadata(self, base: str, file_name: str) -> Iterator[SourceRecord | SkippedRecord]:
        try:
            structure = self._metadata_load(self.directory / file_name)
        # Anything: foreign or truncated files, instaloader's asserts, nesting too deep, too large.
        except Exception as exc:
            if _POST_FILE.match(base):  # named as a post's metadata: a post is lost, say so
                reason = "nested too deeply" if isinstance(exc, RecursionError) else _first_line(exc)
                yield SkippedRecord(file_name, f"its metadata cannot be read ({reason})")
            else:
                logger.info("Ignored %s: not instaloader post metadata (%s).", file_name, exc)
            return
        if not isinstance(structure, Post):  # the profile's own metadata, a resume file, a story…
            return
        items = records_isolated(file_name, lambda: _post_records(structure, file_name))
        place = self._location_file(base) if any(isinstance(item, SourceRecord) for item in items) else None
        for record in items:
            if isinstance(record, SkippedRecord):
                yield record
                continue
            index = record.extra.get("index")
            image = self._image_file(f"{base}_{index}" if index is not None else base)
            if isinstance(image, str):
                yield SkippedRecord(record.source_id, image)
                continue
            yield replace(record, image_url="", image_path=image, **_place_fields(record, place))

    def _metadata_load(self, path: Path) -> Any:
        """The instaloader structure in a metadata file; ``MetadataTooLarge`` past ``METADATA_MAX_BYTES`` of file or
        of decompressed JSON, never holding more whatever the file claims."""
        if not self._inside(path):
            raise ImageRejected("a link that leads outside the imported folder (not followed)")
        data = read_regular_file(path, max_bytes=METADATA_MAX_BYTES, too_large=MetadataTooLarge)
        if path.name.endswith(".xz"):
            decompressor = lzma.LZMADecompressor()
            data = decompressor.decompress(data, max_length=METADATA_MAX_BYTES + 1)
            if len(data) > METADATA_MAX_BYTES:
                raise MetadataTooLarge(f"it decompresses to over {METADATA_MAX_BYTES:,} bytes")
            if not decompressor.eof:
                raise EOFError("the compressed file is truncated")
        return instaloader.load_structure(self.context, json.loads(data))

    def _post_from_files(self, base: str, items: list[tuple[int | None, str]]) -> Iterator[SourceRecord]:
        """A post downloaded without its metadata: what its files say."""
        text = self._text_file(f"{base}.txt")
        place = self._location_file(base) or Place()
        taken_at = instaloader_stamp_date(base.removesuffix("_UTC"))  # None for 2019-02-30 or 9999-12-31
        for index, name in items:
            stem = os.path.splitext(name)[0]
            extra: dict[str, Any] = {"post": base, **({"index": index} if index is not None else {})}
            yield SourceRecord(
                source_id=stem,
                image_path=self.directory / name,
                taken_at=taken_at,
                taken_at_source="file_name",  # Photo.TakenAtSource: the stamp instaloader put in the name
                text=text,
                hashtags=hashtags_in(text),
                media_type="video" if (self.directory / f"{stem}.mp4").is_file() else "image",
                extra=extra,
                place_name=place.name,
                place_id=place.id,
                latitude=place.latitude,
                longitude=place.longitude,
            )

    # Files next to a post.

    def _image_file(self, stem: str) -> Path | str:
        """The image named ``stem``, or why there is none."""
        for extension in IMAGE_EXTENSIONS:
            candidate = self.directory / f"{stem}{extension}"
            if candidate.is_file():
                if not self._inside(candidate):
                    return f"{candidate.name} is a link that leads outside the imported folder (not followed)"
                return candidate
        return f"no image file {stem}.jpg (downloaded with --slide, --no-pictures or --no-video-thumbnails, or deleted)"

    def _location_file(self, base: str) -> Place | None:
        """What ``{base}_location.txt`` says: the name on its first line, the coordinates of the maps link after
        it."""
        text = self._text_file(f"{base}_location.txt")
        if not text.strip():
            return None
        name, _, rest = text.strip().partition("\n")
        coordinates = _MAPS_COORDINATES.search(rest)
        latitude, longitude = (
            (_float(coordinates.group(1)), _float(coordinates.group(2))) if coordinates else (None, None)
        )
        if latitude is None or longitude is None:
            latitude = longitude = None
        return Place(name=name.strip(), latitude=latitude, longitude=longitude)

    def _text_file(self, name: str) -> str:
        path = self.directory / name
        if not os.path.lexists(path):
            return ""
        if not self._inside(path):
            logger.warning("Ignored %r: a link that leads outside the imported folder.", name)
            return ""
        try:
            return read_regular_file(path, max_bytes=TEXT_MAX_BYTES).decode("utf-8", errors="replace")
        except (ImageRejected, OSError) as exc:
            logger.warning("Ignored %r: %s.", name, exc)
            return ""

    def _inside(self, path: Path) -> bool:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(self.directory))


def _item_order(item: tuple[int | None, str]) -> int:
    """A carousel's files in their order (a single image has no index)."""
    return item[0] or 0


def _post_records(post: Post, file_name: str) -> list[SourceRecord | SkippedRecord]:
    try:
        return list(post_records(post, owner=""))
    except (NetworkDisabled, KeyError) as exc:
        return [SkippedRecord(file_name, f"its metadata lacks what a post needs ({_first_line(exc)})")]


def _place_fields(record: SourceRecord, place: Place | None) -> dict[str, Any]:
    """The location file's values for the place fields the metadata left empty."""
    if place is None:
        return {}
    fields: dict[str, Any] = {"place_name": record.place_name or place.name}
    if record.latitude is None and place.latitude is not None:
        fields.update(latitude=place.latitude, longitude=place.longitude)
    return fields


def _belongs_to(stem: str, metadata: dict[str, str]) -> bool:
    """Whether an image is a post's under a custom ``--filename-pattern`` (named like its metadata file)."""
    return stem in metadata or re.sub(r"_\d+$", "", stem) in metadata


def _metadata_stem(name: str) -> str:
    for suffix in _METADATA_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return os.path.splitext(name)[0]


def _float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _first_line(exc: BaseException, limit: int = 200) -> str:
    lines = str(exc).strip().splitlines()
    line = lines[0] if lines else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"
