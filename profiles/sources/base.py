"""What every importer yields: plain records that know nothing about Django models."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

_HASHTAG = re.compile(r"#(\w+)", re.UNICODE)


@dataclass(frozen=True)
class SourceRecord:
    """One image as a source describes it. Exactly one of ``image_path`` / ``image_url`` is set."""

    source_id: str
    image_path: Path | None = None
    image_url: str = ""
    permalink: str = ""
    taken_at: datetime | None = None
    text: str = ""
    hashtags: tuple[str, ...] = field(default_factory=tuple)
    alt_text: str = ""

    @property
    def original(self) -> str:
        return str(self.image_path) if self.image_path is not None else self.image_url


def hashtags_in(text: str) -> tuple[str, ...]:
    """Hashtags in ``text``, without '#', lower-cased, first occurrence order, no repeats."""
    seen: dict[str, None] = {}
    for tag in _HASHTAG.findall(text):
        seen.setdefault(tag.lower(), None)
    return tuple(seen)
