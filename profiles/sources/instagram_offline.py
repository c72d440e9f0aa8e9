"""Offline Instagram import: the folder the ``instaloader`` command line wrote for one profile.

The ``{date}_UTC.json.xz`` metadata files are the source of truth; images are found next to them by instaloader's
naming (``{date}_UTC.jpg``, ``{date}_UTC_1.jpg``… for a carousel). Nothing is fetched: the instaloader context used to
read the metadata refuses every request. The records are the live import's (``post_records``), so a live and an
offline import of one profile never duplicate.
"""

from __future__ import annotations

import logging
import lzma
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import instaloader
from instaloader import InstaloaderContext, InstaloaderException, Post

from profiles.images import IMAGE_EXTENSIONS, read_local_image
from profiles.sources.base import SourceNotFound, SourceRecord
from profiles.sources.instagram import NetworkDisabled, instagram_handle, post_records

logger = logging.getLogger(__name__)

_METADATA_SUFFIXES = (".json.xz", ".json")


class OfflineContext(InstaloaderContext):
    """An instaloader context for reading saved metadata: every method that would talk to Instagram raises
    ``NetworkDisabled`` (through ``_refuse``), and it is never logged in, so instaloader does not even try its
    iPhone endpoints."""

    NETWORK_METHODS = (
        "get_json", "graphql_query", "doc_id_graphql_query", "graphql_node_list", "get_iphone_json", "get_raw",
        "get_and_write_raw", "head", "get_page_data", "_get_page", "_csrf_token", "_web_api_tokens", "login",
        "two_factor_login", "test_login",
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
    """Offline import of the folder the ``instaloader`` CLI wrote for one profile (not recursive).

    Each ``*.json.xz`` (or ``*.json``) post metadata file gives the post's records, exactly as a live import would
    (same ids, text, alt text, likes…); other metadata (the profile's, resume files, comments) is ignored. The images
    are the files instaloader downloaded next to it: ``{name}.jpg`` for an image or a video's cover, ``{name}_{i}.jpg``
    for carousel item i (any of .jpg/.jpeg/.png/.webp/.gif). An item whose image file is missing (``--slide``,
    ``--no-pictures``, ``--no-video-thumbnails``, a deleted file) is skipped with a warning in the log; so is a
    metadata file that cannot be read or that lacks what a record needs. Nothing is fetched from the internet.
    """

    def __init__(self, username: str, directory: Path):
        self.username = instagram_handle(username)
        self.directory = Path(directory).expanduser()
        self.context = OfflineContext()

    def records(self) -> Iterator[SourceRecord]:
        if not self.directory.is_dir():
            raise SourceNotFound(
                f"{self.directory} is not a folder; give the folder the instaloader command wrote for {self.username}."
            )
        for metadata in self._metadata_files():
            post = self._post_load(metadata)
            if post is None:
                continue
            try:
                records = post_records(post, self.username)
            except (NetworkDisabled, KeyError) as exc:
                logger.warning("Skipped %s: its metadata is incomplete (%s).", metadata.name, exc)
                continue
            base = _metadata_stem(metadata)
            for record in records:
                image = _image_file(self.directory, base, record.extra.get("index"))
                if image is None:
                    logger.warning("Skipped %s: no image file %s[.jpg] next to %s.", record.source_id,
                                   base + (f"_{record.extra['index']}" if "index" in record.extra else ""),
                                   metadata.name)
                    continue
                yield replace(record, image_url="", image_path=image)

    def read(self, record: SourceRecord) -> bytes:
        assert record.image_path is not None
        return read_local_image(record.image_path)

    def _metadata_files(self) -> list[Path]:
        # Newest first, as a profile lists them (instaloader's default names start with the date).
        return sorted(
            (p for p in self.directory.iterdir() if p.is_file() and p.name.endswith(_METADATA_SUFFIXES)),
            key=lambda p: p.name,
            reverse=True,
        )

    def _post_load(self, path: Path) -> Post | None:
        try:
            structure = instaloader.load_structure_from_file(self.context, str(path))
        # Not instaloader JSON (comments files are plain lists) → InvalidArgumentException; a truncated or foreign
        # file → JSON/LZMA errors; instaloader validates post data with assert.
        except (InstaloaderException, ValueError, lzma.LZMAError, EOFError, OSError, AssertionError) as exc:
            logger.info("Ignored %s: not instaloader post metadata (%s).", path.name, exc)
            return None
        if not isinstance(structure, Post):  # the profile's own metadata, a resume file…
            return None
        return structure


def _metadata_stem(path: Path) -> str:
    for suffix in _METADATA_SUFFIXES:
        if path.name.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.stem


def _image_file(directory: Path, base: str, index: int | None) -> Path | None:
    stem = f"{base}_{index}" if index is not None else base
    for extension in IMAGE_EXTENSIONS:
        candidate = directory / f"{stem}{extension}"
        if candidate.is_file():
            return candidate
    return None
