"""What every importer yields: plain records that know nothing about Django models, and the errors that end a run."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from profiles.sources.text import id_clean, name_shown, record_fields_clean, text_clean

logger = logging.getLogger(__name__)
_HASHTAG = re.compile(r"#(\w+)", re.UNICODE)
# Instagram's rule for a mention (as instaloader's Post.caption_mentions): an "@" that does not continue a word (an
# e-mail address is no mention).
_MENTION = re.compile(r"(?<![\w.@])@(\w(?:(?:\w|\.(?!\.)){0,28}\w)?)", re.UNICODE)


@dataclass(frozen=True)
class SourceRecord:
    """One image as a source describes it; exactly one of ``image_path`` / ``image_url`` is set.

    ``extra`` goes to ``Photo.extra`` as is; its key ``"post"`` names the record's post (fast updates use it).
    ``taken_at_source`` is a ``Photo.TakenAtSource``; the EXIF date replaces any but "source". The place fields are
    the source's (else the image's GPS is used); ``people`` are handles without '@' (mentions are added at import).
    """

    source_id: str
    image_path: Path | None = None
    image_url: str = ""
    permalink: str = ""
    taken_at: datetime | None = None  # aware, UTC
    text: str = ""
    hashtags: tuple[str, ...] = field(default_factory=tuple)
    alt_text: str = ""
    media_type: str = "image"  # "image" or "video" (a video is kept as its cover image)
    likes: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    taken_at_source: str = ""  # "" = "source" when taken_at is set
    latitude: float | None = None
    longitude: float | None = None
    place_name: str = ""
    place_id: str = ""
    people: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        # The one place every source's words pass: cleaned here, they can be stored and indexed (sources/text.py).
        for name, value in record_fields_clean(self.__dict__).items():
            object.__setattr__(self, name, value)

    @property
    def original(self) -> str:
        return name_shown(str(self.image_path)) if self.image_path is not None else self.image_url


@dataclass(frozen=True)
class SkippedRecord:
    """An item the source found but cannot give as a record, yielded in its place and counted as skipped.
    ``reason``: one short sentence, no trailing full stop. ``source_id``: the record's id, else a name the user can
    find the item by."""

    source_id: str
    reason: str

    def __post_init__(self) -> None:
        # Shown in the admin and in a command's report: the same cleaning as a record's words.
        object.__setattr__(self, "source_id", id_clean(self.source_id))
        object.__setattr__(self, "reason", text_clean(self.reason, max_chars=500))


class SourceError(Exception):
    """The run cannot go on. ``str(exc)`` is one clear sentence for the user."""


class SourceNotFound(SourceError):
    """The profile, album, folder or file does not exist (or is not visible with these credentials)."""


class SourceRefused(SourceError):
    """The source refused (login, API key, rate limit, challenge): retrying soon will not help. Progress is kept so
    a rerun continues where this one stopped."""


class SourceUnavailable(SourceError):
    """Transient trouble (network down, timeouts, 5xx): worth retrying later with backoff."""


class Source(Protocol):
    """An importer. ``records()`` may raise ``SourceError`` at any point (records yielded before are kept) and yields
    a ``SkippedRecord``, unlogged, for an item it cannot turn into a record. ``read(record)`` returns the image bytes;
    it raises ``FetchError``/``OSError``/``ImageRejected`` to skip the record, ``SourceError`` to stop the run."""

    def records(self) -> Iterator[SourceRecord | SkippedRecord]: ...

    def read(self, record: SourceRecord) -> bytes: ...


def records_isolated(
    name: str,
    build: Callable[[], Iterable[SourceRecord | SkippedRecord]],
    *,
    propagate: tuple[type[BaseException], ...] = (),
) -> list[SourceRecord | SkippedRecord]:
    """The records ``build`` gives for one item, or one ``SkippedRecord`` named ``name`` if building fails in any way:
    one bad item never costs the others. ``SourceError`` and the ``propagate`` exceptions go on up."""
    passed_on: tuple[type[BaseException], ...] = (SourceError, *propagate)
    try:
        return list(build())
    except passed_on:
        raise
    except RecursionError:
        return [SkippedRecord(name, "its data is nested too deeply to read")]
    except Exception as exc:
        # The traceback goes to the log: an unexpected shape of data is worth a look; the user sees one line.
        logger.info("Skipped %r: cannot make a record of it.", name, exc_info=True)
        return [SkippedRecord(name, f"its data cannot be read ({error_line(exc)})")]


def error_line(exc: BaseException, limit: int = 200) -> str:
    """One line that says what ``exc`` is, at most ``limit`` characters (its type when it says nothing)."""
    lines = str(exc).strip().splitlines()
    line = lines[0] if lines else type(exc).__name__
    if isinstance(exc, (TypeError, AttributeError, KeyError, IndexError, OverflowError, RecursionError, MemoryError)):
        line = f"{type(exc).__name__}: {line}"  # "'int' object is not subscriptable" alone says little
    return line if len(line) <= limit else line[: limit - 1] + "…"


def hashtags_in(text: str) -> tuple[str, ...]:
    """Hashtags in ``text``, without '#', lower-cased, first occurrence order, no repeats."""
    seen: dict[str, None] = {}
    for tag in _HASHTAG.findall(text):
        seen.setdefault(tag.lower(), None)
    return tuple(seen)


def mentions_in(text: str) -> tuple[str, ...]:
    """Handles @mentioned in ``text``, without '@', lower-cased, first occurrence order, no repeats."""
    seen: dict[str, None] = {}
    for handle in _MENTION.findall(text):
        seen.setdefault(handle.lower(), None)
    return tuple(seen)


def path_outside_roots(path: Path, roots: Sequence[Path]) -> str | None:
    """Why ``path`` (links resolved) may not be imported: outside every one of ``roots``; None when it may (always
    with no roots)."""
    if not roots:
        return None
    resolved = Path(os.path.realpath(Path(path).expanduser()))
    if any(resolved.is_relative_to(os.path.realpath(root)) for root in roots):
        return None
    return (
        f"{path} is outside the folders this server imports from (PHOTOSEARCH_IMPORT_ROOTS: "
        f"{', '.join(str(root) for root in roots)})."
    )
