"""Local folder source: every image under a folder, with an optional sidecar text file per image.

Sidecars follow instaloader's layout: ``2021-06-01_18-30-00_UTC.jpg`` reads ``2021-06-01_18-30-00_UTC.txt``, and the
images of a carousel (``…_UTC_1.jpg``, ``…_UTC_2.jpg``) share the post's ``…_UTC.txt``. Instaloader's file-name
timestamp, when present, gives ``taken_at``.

Only regular files are read, images and sidecars alike (a named pipe would block the import, a link to a device would
read without end). Symbolic links are followed while they stay inside the imported folder; a link that leads out of
it is not followed (its image is reported as skipped, its sidecar ignored), so a folder cannot publish files from
elsewhere on the server. Linked sub-folders are not entered.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from profiles.images import IMAGE_EXTENSIONS, ImageRejected, read_local_image, read_regular_file
from profiles.sources.base import SourceNotFound, SourceRecord, hashtags_in

logger = logging.getLogger(__name__)

_INSTALOADER_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})_UTC(?:_(\d+))?$")
_CAROUSEL_SUFFIX = re.compile(r"_\d+$")
SIDECAR_MAX_BYTES = 1_000_000


class FolderSource:
    """Every image file under ``root`` (recursive, sorted, hidden entries skipped). The source id is the path
    relative to ``root``, so moving the folder keeps ids stable."""

    def __init__(self, root: Path):
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise SourceNotFound(f"{root} is not a folder.")
        self._records = list(iter_folder(self.root))
        self.total = len(self._records)

    def records(self) -> Iterator[SourceRecord]:
        return iter(self._records)

    def read(self, record: SourceRecord) -> bytes:
        assert record.image_path is not None
        if not inside(record.image_path, self.root):
            raise ImageRejected("a link that leads outside the imported folder (not followed)")
        return read_local_image(record.image_path)


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, links resolved, lies in ``root`` (itself resolved)."""
    return Path(os.path.realpath(path)).is_relative_to(root)


def iter_folder(root: Path) -> Iterator[SourceRecord]:
    root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            text = _sidecar_text(path, root)
            yield SourceRecord(
                source_id=path.relative_to(root).as_posix(),
                image_path=path,
                taken_at=_instaloader_timestamp(path.stem),
                text=text,
                hashtags=hashtags_in(text),
            )


def _sidecar_text(image: Path, root: Path) -> str:
    candidates = [image.with_suffix(".txt")]
    if _CAROUSEL_SUFFIX.search(image.stem):
        candidates.append(image.with_name(_CAROUSEL_SUFFIX.sub("", image.stem) + ".txt"))
    for candidate in candidates:
        if not os.path.lexists(candidate):
            continue
        if not inside(candidate, root):
            logger.warning("Ignored sidecar %r: a link that leads outside the imported folder.",
                           str(candidate.relative_to(root)))
            continue
        try:
            data = read_regular_file(candidate, max_bytes=SIDECAR_MAX_BYTES)
        except (ImageRejected, OSError) as exc:
            logger.warning("Ignored sidecar %r: %s.", str(candidate.relative_to(root)), exc)
            continue
        # Cleaned and bounded by SourceRecord (sources/text.py); this cap only bounds the read.
        return data.decode("utf-8", errors="replace")
    return ""


def _instaloader_timestamp(stem: str) -> datetime | None:
    match = _INSTALOADER_STAMP.match(stem)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y-%m-%d_%H-%M-%S").replace(tzinfo=timezone.utc)
