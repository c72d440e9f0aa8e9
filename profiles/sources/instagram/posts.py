"""An instaloader ``Post`` as records, live or offline, the same ids and fields either way. Only data instaloader
holds is read, never properties that would fetch (a request per post); GraphQL and iPhone shapes alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import instaloader
from instaloader import InstaloaderException, Post

from profiles.sources.base import SourceRecord, hashtags_in
from profiles.sources.instagram.ids import instagram_permalink, instagram_source_id
from profiles.sources.text import handles_clean

T = TypeVar("T")


class NetworkDisabled(InstaloaderException):
    """An offline read wanted data that is not in the saved metadata (instaloader would have fetched it)."""


@dataclass(frozen=True)
class Place:
    """An Instagram location: its name, its id (``instagram.com/explore/locations/{id}/``) and coordinates."""

    name: str = ""
    id: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class _Media:
    """One image of a post: the image itself, or a video's cover, and the accounts tagged on it."""

    url: str
    is_video: bool
    alt_text: str
    tagged: tuple[str, ...] = ()


def post_records(post: Post, *, owner: str = "") -> list[SourceRecord]:
    """The records of one post (one per carousel item), with ``image_url`` set.

    ``owner`` stands in when the data names no owner. ``people``: the owner, co-authors, then tagged accounts; those
    tagged on the image are also ``extra["tagged"]`` (the People feature names faces by them before mentions)."""
    raw = raw_node(post)
    shortcode = post.shortcode
    text = post.caption or ""
    carousel = post.typename == "GraphSidecar"
    owner = post_owner(raw) or owner
    place = post_place(raw) or Place()
    common: dict[str, Any] = {
        "permalink": instagram_permalink(shortcode),
        "taken_at": _post_date(post),
        "text": text,
        "hashtags": hashtags_in(text),
        "likes": _optional(lambda: post.likes),
        "place_name": place.name,
        "place_id": place.id,
        "latitude": place.latitude,
        "longitude": place.longitude,
    }
    post_tagged = _tagged(raw)
    named = (
        *([owner] if owner else []),
        *_usernames(raw.get("coauthor_producers")),
        *_usernames(_dict(raw.get("iphone_struct")).get("coauthor_producers")),
        *post_tagged,
    )
    pinned = is_pinned(raw)
    records = []
    for index, media in enumerate(_carousel_media(post, raw) if carousel else [_single_media(post)], start=1):
        extra: dict[str, Any] = {"post": shortcode}
        if owner:
            extra["owner"] = owner
        if carousel:
            extra["index"] = index
        extra["is_pinned"] = pinned
        if tagged := handles_clean((*post_tagged, *media.tagged)):
            extra["tagged"] = list(tagged)
        records.append(
            SourceRecord(
                source_id=instagram_source_id(shortcode, index, carousel=carousel),
                image_url=media.url,
                alt_text=media.alt_text,
                media_type="video" if media.is_video else "image",
                extra=extra,
                people=(*named, *media.tagged),
                **common,
            )
        )
    return records


def raw_node(post: Post) -> dict[str, Any]:
    """The post's data as instaloader holds and saves it."""
    node: dict[str, Any] = instaloader.get_json_structure(post)["node"]
    return node


def is_pinned(raw: dict[str, Any]) -> bool:
    """Whether the post's data marks it pinned, in either shape."""
    iphone = _dict(raw.get("iphone_struct"))
    return bool(
        raw.get("timeline_pinned_user_ids") or iphone.get("timeline_pinned_user_ids") or raw.get("pinned_for_users")
    )


def post_owner(raw: dict[str, Any]) -> str:
    """The owner's username as the data gives it, lower-cased; "" when it holds only the owner's id."""
    for holder in (raw.get("owner"), _dict(raw.get("iphone_struct")).get("user"), raw.get("user")):
        if isinstance(holder, dict) and isinstance(holder.get("username"), str) and holder["username"].strip():
            return str(holder["username"]).strip().lower()  # a str: checked above
    return ""


def post_place(raw: dict[str, Any]) -> Place | None:
    """The post's location in either shape, or None."""
    iphone = _dict(raw.get("iphone_struct"))
    locations = [loc for loc in (raw.get("location"), iphone.get("location")) if isinstance(loc, dict) and loc]
    if not locations:
        return None

    def first(key: str, *extra_holders: dict[str, Any]) -> Any:
        return next((holder[key] for holder in (*locations, *extra_holders) if holder.get(key) is not None), None)

    latitude, longitude = first("lat", iphone, raw), first("lng", iphone, raw)
    place_id = first("id") if first("id") is not None else first("pk")
    return Place(
        name=str(first("name") or ""),
        id=str(place_id) if place_id is not None else "",
        # A location without coordinates says so with null; Instagram never places one at exactly 0, 0.
        latitude=latitude if longitude is not None else None,
        longitude=longitude if latitude is not None else None,
    )


def _tagged(node: dict[str, Any]) -> list[str]:
    """Usernames tagged on a post or carousel item: GraphQL ``edge_media_to_tagged_user`` or iPhone ``usertags``."""
    edges = (node.get("edge_media_to_tagged_user") or {}).get("edges") or []
    names = _usernames((edge.get("node") or {}).get("user") for edge in edges if isinstance(edge, dict))
    for holder in (node, node.get("iphone_struct") or {}):
        tags = (holder.get("usertags") or {}).get("in") or []
        names += _usernames(tag.get("user") for tag in tags if isinstance(tag, dict))
    return names


def _usernames(users: Iterable[Any] | None) -> list[str]:
    return [
        user["username"] for user in users or () if isinstance(user, dict) and isinstance(user.get("username"), str)
    ]


def _single_media(post: Post) -> _Media:
    # post.url is the image, or a video's cover (display_url); logged in, instaloader prefers the full-size
    # candidate of the iPhone data it already holds.
    return _Media(
        url=_optional(lambda: post.url) or "",
        is_video=bool(_optional(lambda: post.is_video)),
        alt_text=_optional(lambda: post.accessibility_caption or "") or "",
    )


def _carousel_media(post: Post, raw: dict[str, Any]) -> list[_Media]:
    """The carousel's items from the post's own data: ``Post.get_sidecar_nodes`` would fetch video items' metadata
    (and carries no alt text)."""
    edges = (raw.get("edge_sidecar_to_children") or {}).get("edges")
    if edges is None:  # data without the items (not seen in 4.16's listings): let instaloader fetch them
        return [_Media(node.display_url, node.is_video, "") for node in post.get_sidecar_nodes()]
    # Posts from the web/iPhone API keep the alt texts and the tags in iphone_struct.carousel_media, in order.
    iphone_items = _dict(raw.get("iphone_struct")).get("carousel_media") or []
    media = []
    for position, edge in enumerate(edges):
        node = edge.get("node") or {}
        iphone_item = iphone_items[position] if position < len(iphone_items) else {}
        alt = node.get("accessibility_caption") or iphone_item.get("accessibility_caption")
        url = node.get("display_url") or node.get("display_src") or ""
        media.append(
            _Media(
                url=url,
                is_video=bool(node.get("is_video")),
                alt_text=alt or "",
                tagged=(*_tagged(node), *_tagged(iphone_item)),
            )
        )
    return media


def _post_date(post: Post) -> datetime | None:
    """The post's date (aware UTC), or None when the data holds no usable one: the post is kept without it."""
    try:
        return post.date_utc.replace(tzinfo=UTC)  # instaloader's date_utc is naive UTC
    except (KeyError, NetworkDisabled, TypeError, ValueError, OverflowError, OSError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one: saved data may hold anything where an object belongs."""
    return value if isinstance(value, dict) else {}


def _optional(read: Callable[[], T]) -> T | None:
    """``read()``, or None when the post's data lacks the field (offline: ``NetworkDisabled``)."""
    try:
        return read()
    except (KeyError, NetworkDisabled):
        return None
