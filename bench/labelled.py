"""Labelled sets for ``manage.py evaluate`` (``bench.evaluate``): images plus the queries that should find
them, read from COCO / Karpathy-style captions JSON (every caption is a query for its image) or from a folder in
import_folder's layout with ``NAME.queries.txt`` next to ``NAME.jpg``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from profiles.sources.base import SourceRecord
from profiles.sources.folder import iter_folder

QUERIES_SUFFIX = ".queries.txt"


class DatasetError(ValueError):
    """The labelled set cannot be read as given; ``str(exc)`` says what to fix."""


@dataclass
class LabelledSet:
    """Images to import (plain source records) and the queries that should find them."""

    name: str
    format: str
    records: list[SourceRecord]
    queries: dict[str, set[str]]  # query text → source ids of the photos it should find
    missing_images: int = 0  # listed by the dataset but not found on disk
    kinds: dict[str, str] = field(default_factory=dict)  # query text → its kind, for sets that group their queries
    note: str = ""  # what the figures of this set can and cannot show, printed with them

    def limited(self, limit: int | None) -> LabelledSet:
        """The first ``limit`` images and only the queries about them."""
        if not limit or limit >= len(self.records):
            return self
        records = self.records[:limit]
        kept = {record.source_id for record in records}
        queries = {text: ids & kept for text, ids in self.queries.items() if ids & kept}
        kinds = {text: kind for text, kind in self.kinds.items() if text in queries}
        return LabelledSet(self.name, self.format, records, queries, self.missing_images, kinds, self.note)


def labelled_set_load(
    *,
    path: Path,
    format: str | None = None,
    limit: int | None = None,
    split: str = "test",
    images_dir: Path | None = None,
) -> LabelledSet:
    """Read a labelled set: ``coco`` (a captions JSON file) or ``folder`` (images with ``NAME.queries.txt``);
    by default a file is read as ``coco`` and a folder as ``folder``. Raises ``DatasetError``."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetError(f"{path} does not exist.")
    format = format or ("folder" if path.is_dir() else "coco")
    if format not in LOADERS:
        raise DatasetError(f"Unknown dataset format {format!r}; use one of {', '.join(LOADERS)}.")
    labelled = LOADERS[format](path, split=split, images_dir=images_dir).limited(limit)
    if not labelled.queries:
        raise DatasetError(f"{path} has no labelled queries for any image that exists.")
    return labelled


def coco_load(path: Path, *, split: str = "test", images_dir: Path | None = None) -> LabelledSet:
    """COCO captions (``{"images": [{"id", "file_name"}], "annotations": [{"image_id", "caption"}]}``) or Karpathy
    splits (``dataset_coco.json`` / ``dataset_flickr30k.json``: ``images`` with ``filepath``, ``filename``, ``split``,
    ``sentences[].raw``; only ``split`` is kept). Image files are looked up under ``images_dir`` (default: the JSON
    file's folder), as ``filepath/filename`` or ``filename``."""
    if path.is_dir():
        raise DatasetError(f"{path} is a folder; the coco format needs the captions JSON file.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        images = data["images"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path} is not a COCO or Karpathy captions file ({type(exc).__name__}: {exc}).") from None
    root = Path(images_dir).expanduser() if images_dir else path.parent
    if "annotations" in data:
        captions: dict[object, list[str]] = {}
        for annotation in data["annotations"]:
            captions.setdefault(annotation["image_id"], []).append(annotation["caption"])
        entries = [("", image["file_name"], captions.get(image["id"], [])) for image in images]
    else:
        splits = {image.get("split", "") for image in images}
        if split not in splits:
            raise DatasetError(f"{path} has no images in split {split!r}; it has {', '.join(sorted(splits))}.")
        entries = [
            (image.get("filepath", ""), image["filename"], [s["raw"] for s in image.get("sentences", [])])
            for image in images
            if image.get("split", "") == split
        ]
    records, queries, missing = [], {}, 0
    for folder, filename, texts in entries:
        found = next((p for p in (root / folder / filename, root / filename) if p.is_file()), None)
        if found is None:
            missing += 1
            continue
        source_id = found.relative_to(root).as_posix()
        records.append(SourceRecord(source_id=source_id, image_path=found))
        for text in texts:
            _label(queries, text, source_id)
    if not records and entries:
        raise DatasetError(
            f"None of the {len(entries):,} images of {path.name} is under {root}; "
            f"point --images at the folder that holds them."
        )
    return LabelledSet(name=path.stem, format="coco", records=records, queries=queries, missing_images=missing)


def folder_load(path: Path, *, split: str = "test", images_dir: Path | None = None) -> LabelledSet:
    """A folder as ``import_folder`` reads it (``NAME.txt``: the photo's own words), plus ``NAME.queries.txt``: one
    query per line that should find ``NAME.jpg``. Images without queries stay in as distractors."""
    if not path.is_dir():
        raise DatasetError(f"{path} is not a folder; the folder format needs a folder of images.")
    records, queries = [], {}
    for record in iter_folder(path):
        records.append(record)
        sidecar = record.image_path.with_name(record.image_path.stem + QUERIES_SUFFIX)
        if sidecar.is_file():
            for line in sidecar.read_text(encoding="utf-8", errors="replace").splitlines():
                _label(queries, line, record.source_id)
    return LabelledSet(name=path.resolve().name, format="folder", records=records, queries=queries)


LOADERS: dict[str, Callable[..., LabelledSet]] = {"coco": coco_load, "folder": folder_load}


def _label(queries: dict[str, set[str]], text: str, source_id: str) -> None:
    text = " ".join(text.split())
    if text:
        queries.setdefault(text, set()).add(source_id)
