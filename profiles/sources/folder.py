"""Local folder source: every image under a folder, with an optional sidecar text file each. Dates come from file
names, never modification times (copies reset them); links are followed only inside the folder, so an import cannot
publish files from elsewhere on the server."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from django.utils import timezone as django_timezone

from profiles.images import IMAGE_EXTENSIONS, ImageRejected, read_local_image, read_regular_file
from profiles.sources.base import SkippedRecord, SourceNotFound, SourceRecord, hashtags_in, records_isolated
from profiles.sources.text import date_plausible, name_shown

logger = logging.getLogger(__name__)

_INSTALOADER_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})_UTC(?:_(\d+))?$")
_INSTALOADER_PROFILE_PIC = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_UTC_profile_pic$")
# A date and a time of day, with the separators phones and apps use.
_STAMP = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<ds>[-_.]?)(?P<mo>\d{2})(?P=ds)(?P<d>\d{2})(?:[ _T-]| at |)"
    r"(?P<h>\d{2})(?P<ts>[-_.:]?)(?P<mi>\d{2})(?P=ts)(?P<s>\d{2})(?:\d{3})?(?!\d)"
)
# A date alone: WhatsApp's IMG-20190714-WA0001, or 2019-07-14 at the start of a name.
_DATE_STAMP = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<mo>\d{2})(?P<d>\d{2})-WA\d+"
    r"|^(?P<y2>(?:19|20)\d{2})-(?P<mo2>\d{2})-(?P<d2>\d{2})(?!\d)"
)
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

    def records(self) -> Iterator[SourceRecord | SkippedRecord]:
        return iter(self._records)

    def read(self, record: SourceRecord) -> bytes:
        assert record.image_path is not None
        if not inside(record.image_path, self.root):
            raise ImageRejected("a link that leads outside the imported folder (not followed)")
        return read_local_image(record.image_path)


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, links resolved, lies in ``root`` (itself resolved)."""
    return Path(os.path.realpath(path)).is_relative_to(root)


def iter_folder(root: Path) -> Iterator[SourceRecord | SkippedRecord]:
    """A record per image file under ``root``, else a skipped one. Two names that ``name_shown`` writes alike: the
    second is skipped rather than imported over the first."""
    root = root.resolve()
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            if _INSTALOADER_PROFILE_PIC.match(path.stem):
                logger.debug("Left out %r: instaloader's copy of the profile picture.", name)
                continue
            source_id = name_shown(path.relative_to(root).as_posix())
            if source_id in seen:
                yield SkippedRecord(
                    source_id,
                    "another file's name reads the same once its non-UTF-8 bytes are "
                    "written as \\xNN; rename one of them",
                )
                continue
            seen.add(source_id)
            yield from records_isolated(source_id, lambda: [_file_record(path, root, source_id)])  # noqa: B023 (called at once)


def _file_record(path: Path, root: Path, source_id: str) -> SourceRecord:
    text = _sidecar_text(path, root)
    taken_at, taken_at_source = file_name_date(path.stem)
    return SourceRecord(
        source_id=source_id,
        image_path=path,
        taken_at=taken_at,
        taken_at_source=taken_at_source,
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
            logger.warning(
                "Ignored sidecar %r: a link that leads outside the imported folder.", str(candidate.relative_to(root))
            )
            continue
        try:
            data = read_regular_file(candidate, max_bytes=SIDECAR_MAX_BYTES)
        except (ImageRejected, OSError) as exc:
            logger.warning("Ignored sidecar %r: %s.", str(candidate.relative_to(root)), exc)
            continue
        # Cleaned and bounded by SourceRecord (sources/text.py); this cap only bounds the read.
        return data.decode("utf-8", errors="replace")
    return ""


def file_name_date(stem: str) -> tuple[datetime | None, str]:
    """The date a file stem states and its ``taken_at_source``: ``"source"`` for instaloader's (UTC), ``"file_name"``
    for a phone's (in ``TIME_ZONE``); ``(None, "")`` for no plausible date."""
    match = _INSTALOADER_STAMP.match(stem)
    if match:
        moment = instaloader_stamp_date(match.group(1))
        return (moment, "source") if moment is not None else (None, "")
    zone = django_timezone.get_default_timezone()
    if match := _STAMP.search(stem):
        parts = (match["y"], match["mo"], match["d"], match["h"], match["mi"], match["s"])
    elif match := _DATE_STAMP.search(stem):
        parts = (match["y"] or match["y2"], match["mo"] or match["mo2"], match["d"] or match["d2"], "12", "0", "0")
    else:
        return None, ""
    try:
        year, month, day, hour, minute, second = (int(part) for part in parts)
        moment = datetime(year, month, day, hour, minute, second, tzinfo=zone).astimezone(UTC)
    except ValueError:  # 2019-13-45: digits that only look like a date
        return None, ""
    return (moment, "file_name") if date_plausible(moment) else (None, "")


def instaloader_stamp_date(stamp: str) -> datetime | None:
    """The UTC moment of instaloader's ``2019-07-14_10-00-00`` stamp; None when it is no plausible date."""
    try:
        return date_plausible(datetime.strptime(stamp, "%Y-%m-%d_%H-%M-%S").replace(tzinfo=UTC))
    except ValueError:
        return None
