"""Helpers of the People tests: the labelled real face photos (tests/data/faces), folders of them as import_folder and
the instaloader command line leave them, and the import and the faces stage run on them."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import instaloader
from django.core.management import call_command
from instaloader import Post

from profiles.models import Photo
from profiles.sources.instagram.offline import OfflineContext

FACES_DIR = Path(__file__).resolve().parents[1] / "data" / "faces"
OWNER_PK = "8234567890"
T0 = 1_717_243_200  # 2024-06-01 12:00 UTC
DAY = 86_400


def face_labels() -> dict[str, list[str]]:
    """File name → the identities known in it ([] for a photo without faces, or of a crowd nobody named), from
    tests/data/faces/labels.json ({"name.jpg": {"faces": 1, "identity": "…"} or {"faces": 3, "identities": […]}})."""
    labels = json.loads((FACES_DIR / "labels.json").read_text())
    return {
        name: list(label.get("identities") or ([label["identity"]] if label.get("identity") else []))
        for name, label in labels.items()
    }


def face_counts() -> dict[str, int]:
    """File name → how many faces a person counted in it."""
    return {name: label["faces"] for name, label in json.loads((FACES_DIR / "labels.json").read_text()).items()}


def photos_of(identity: str, *, alone: bool = True) -> list[str]:
    """The labelled photos showing ``identity`` (only them, when ``alone``), by name."""
    return sorted(
        name for name, people in face_labels().items() if identity in people and (not alone or people == [identity])
    )


def identities(*, at_least: int) -> list[str]:
    """Identities with at least ``at_least`` photos of them alone, most photos first, then by name."""
    counts: dict[str, int] = {}
    for people in face_labels().values():
        if len(people) == 1:
            counts[people[0]] = counts.get(people[0], 0) + 1
    return sorted((who for who, count in counts.items() if count >= at_least), key=lambda who: (-counts[who], who))


def photos_without_faces() -> list[str]:
    return sorted(name for name, count in face_counts().items() if count == 0)


def folder_of(root: Path, names: list[str], *, sidecars: dict[str, str] | None = None) -> Path:
    """A folder of copies of the labelled photos ``names``, with ``sidecars`` (photo name → text) beside them."""
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(FACES_DIR / name, root / name)
    for name, text in (sidecars or {}).items():
        (root / name).with_suffix(".txt").write_text(text, encoding="utf-8")
    return root


def folder_import(folder: Path, *, profile: str = "faces") -> None:
    call_command("import_folder", str(folder), "--profile", profile, "--no-embed", stdout=StringIO(), stderr=StringIO())


def photo_named(name: str) -> Photo:
    return Photo.objects.get(source_id__endswith=name)


# --- An instaloader folder (what `instaloader alice` writes, metadata included) -------------------------------------


def _user(pk: str, username: str) -> dict[str, Any]:
    return {"pk": pk, "id": pk, "username": username, "full_name": username.title(), "is_private": False}


def _usertags(handles: tuple[str, ...]) -> dict[str, Any]:
    return {"in": [{"user": _user(str(900 + i), h), "position": [0.5, 0.5]} for i, h in enumerate(handles)]}


def instagram_post(
    code: str, day: int, caption: str, items: list[tuple[str, tuple[str, ...]]]
) -> tuple[dict[str, Any], list[str]]:
    """An iPhone-format post by alice (what instaloader 4.16 saves): ``items`` are (labelled photo, handles tagged on
    it); two or more make a carousel, whose tags are per item. Returns the node and its photos."""
    pk = str(Post.shortcode_to_mediaid(code))
    taken_at = T0 - day * DAY
    node: dict[str, Any] = {
        "code": code,
        "pk": pk,
        "id": f"{pk}_{OWNER_PK}",
        "taken_at": taken_at,
        "media_type": 8 if len(items) > 1 else 1,
        "product_type": "carousel_container" if len(items) > 1 else "feed",
        "caption": {"pk": pk + "1", "text": caption, "created_at": taken_at},
        "like_count": 1,
        "has_liked": False,
        "comment_count": 0,
        "user": {**_user(OWNER_PK, "alice"), "is_verified": False, "profile_pic_url": "https://cdn.example/alice.jpg"},
        "image_versions2": {"candidates": [{"url": f"https://cdn.example/{code}.jpg", "width": 1080, "height": 1080}]},
    }
    if len(items) > 1:
        node["carousel_media_count"] = len(items)
        node["carousel_media"] = [
            {
                "pk": f"{pk}{i}",
                "id": f"{pk}{i}_{OWNER_PK}",
                "media_type": 1,
                "image_versions2": {"candidates": [{"url": f"https://cdn.example/{code}_{i}.jpg"}]},
                **({"usertags": _usertags(tags)} if tags else {}),
            }
            for i, (_, tags) in enumerate(items, start=1)
        ]
    elif items[0][1]:
        node["usertags"] = _usertags(items[0][1])
    return node, [name for name, _ in items]


def instaloader_folder(root: Path, posts: list[tuple[dict[str, Any], list[str]]]) -> Path:
    """What `instaloader alice` leaves: per post {stamp}.json.xz (instaloader's own save_structure_to_file), the
    caption's .txt, and the image(s), _1, _2… for a carousel."""
    root.mkdir(parents=True)
    for node, photos in posts:
        post = Post.from_iphone_struct(OfflineContext(), node)
        stamp = datetime.fromtimestamp(node["taken_at"], UTC).strftime("%Y-%m-%d_%H-%M-%S") + "_UTC"
        instaloader.save_structure_to_file(post, str(root / f"{stamp}.json.xz"))
        (root / f"{stamp}.txt").write_text(post.caption + "\n", encoding="utf-8")
        for i, name in enumerate(photos, start=1):
            target = f"{stamp}_{i}.jpg" if len(photos) > 1 else f"{stamp}.jpg"
            shutil.copy(FACES_DIR / name, root / target)
    return root
