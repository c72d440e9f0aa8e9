"""Every kind of source in one table: its options, the rules between them, how to build the importer. The API, admin,
commands and import service all read it, so they apply the same rules. Knows nothing of Django models."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from django.conf import settings

from profiles.sources.base import Source, SourceNotFound, path_outside_roots


class SourceOptionsInvalid(ValueError):
    """Options a source kind cannot use; ``errors`` maps each option to its messages."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors = {name: list(messages) for name, messages in errors.items()}
        name, messages = next(iter(self.errors.items()))
        super().__init__(f"{name}: {messages[0]}")


@dataclass(frozen=True)
class SourceOption:
    name: str  # key in Profile.source_options and in the API's `options`
    admin_field: str  # the admin form's field
    label: str
    help: str
    check: Callable[[str], str]  # the stored value, or ValueError with the reason
    required: bool = False
    server_path: bool = False  # a file or folder on the server: fenced by PHOTOSEARCH_IMPORT_ROOTS


@dataclass(frozen=True)
class BuildContext:
    handle: str
    options: Mapping[str, object]  # the profile's options merged with the run's (fast_update, limit, from_dir…)
    known_post: Callable[[str], bool] = lambda post: False
    data_dir: Path = Path(".")


@dataclass(frozen=True)
class SourceKindSpec:
    kind: str
    options: tuple[SourceOption, ...]
    build: Callable[[BuildContext], Source]
    # Rules between options: (options given) → {option: [messages]}
    rules: Callable[[Mapping[str, str]], dict[str, list[str]]] = lambda options: {}
    # Options that each name the whole way to reach the source (a download folder, a login…): a profile keeps one,
    # the one it was last imported with, so every rerun goes the same way.
    one_of: frozenset[str] = frozenset()
    option_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "option_names", frozenset(option.name for option in self.options))


# --- Checks of single options -----------------------------------------------------------------------------------

_INSTAGRAM_USERNAME = re.compile(r"[A-Za-z0-9._]{1,30}")


def _server_path(value: str, *, folder: bool) -> str:
    path = Path(value.strip()).expanduser()
    exists = path.is_dir() if folder else path.is_file()
    if not path.is_absolute() or not exists:
        raise ValueError(f"No such {'folder' if folder else 'file'} on the server (give an absolute path).")
    if reason := path_outside_roots(path, settings.PHOTOSEARCH_IMPORT_ROOTS):
        raise ValueError(reason)
    return str(path.resolve())


def existing_folder(value: str) -> str:
    return _server_path(value, folder=True)


def existing_file(value: str) -> str:
    return _server_path(value, folder=False)


def instagram_username(value: str) -> str:
    value = value.strip().lstrip("@")
    if not _INSTAGRAM_USERNAME.fullmatch(value):
        raise ValueError("Not an Instagram user name.")
    return value


def non_empty(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("Must not be empty.")
    return value


# --- Builders -----------------------------------------------------------------------------------------------------


def _folder(context: BuildContext) -> Source:
    from profiles.sources.folder import FolderSource

    if not context.options.get("path"):
        raise SourceNotFound(f"Profile {context.handle} has no folder path; import it with import_folder PATH first.")
    return FolderSource(Path(str(context.options["path"])))


def _urls(context: BuildContext) -> Source:
    from profiles.sources.urls import UrlListSource

    if not context.options.get("file"):
        raise SourceNotFound(f"Profile {context.handle} has no URL list file; import it with import_urls FILE first.")
    return UrlListSource(Path(str(context.options["file"])))


def _flickr(context: BuildContext) -> Source:
    from profiles.sources.flickr import FlickrSource

    return FlickrSource(
        # Options are checked against their SourceOption (a text option is a str) before a source is built
        album=cast("str | None", context.options.get("album")),
        user=cast("str | None", context.options.get("user")),
        api_key=settings.FLICKR_API_KEY,
        api_url=settings.FLICKR_API_URL,
    )


def _instagram(context: BuildContext) -> Source:
    from profiles.sources.instagram.live import InstagramSource
    from profiles.sources.instagram.offline import InstagramDirSource

    options = context.options
    if options.get("from_dir"):
        return InstagramDirSource(context.handle, Path(str(options["from_dir"])))
    return InstagramSource(
        context.handle,
        session_file=Path(str(options["session_file"])) if options.get("session_file") else None,
        login=cast("str | None", options.get("login")) or None,
        cookies_file=Path(str(options["cookies_file"])) if options.get("cookies_file") else None,
        fast_update=bool(options.get("fast_update")),
        known_post=context.known_post,
        limit=cast("int | None", options.get("limit")),
        resume_dir=context.data_dir / "resume",
    )


# --- Rules between options ------------------------------------------------------------------------------------------


def _flickr_rules(options: Mapping[str, str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if ("album" in options) == ("user" in options):
        errors.setdefault("album", []).append("Give an album id or a user, not both.")
    if not settings.FLICKR_API_KEY:
        errors.setdefault("album" if "album" in options else "user", []).append(
            "FLICKR_API_KEY is not set on the server; get a key at https://www.flickr.com/services/apps/create/ and "
            "export FLICKR_API_KEY=…"
        )
    return errors


_INSTAGRAM_LOGINS = ("session_file", "login", "cookies_file")


def _instagram_rules(options: Mapping[str, str]) -> dict[str, list[str]]:
    given = [name for name in _INSTAGRAM_LOGINS if name in options]
    if len(given) > 1:
        return {given[1]: [f"Give one way to log in: {', '.join(given)} were given."]}
    if given and "from_dir" in options:
        return {"from_dir": [f"A download folder is read offline, without a login: give from_dir or {given[0]}."]}
    return {}


# --- The table ----------------------------------------------------------------------------------------------------

SOURCE_KINDS: dict[str, SourceKindSpec] = {
    spec.kind: spec
    for spec in (
        SourceKindSpec(
            kind="folder",
            options=(
                SourceOption(
                    "path",
                    "folder_path",
                    "Folder",
                    "absolute path of the folder, on the server.",
                    existing_folder,
                    required=True,
                    server_path=True,
                ),
            ),
            build=_folder,
        ),
        SourceKindSpec(
            kind="urls",
            options=(
                SourceOption(
                    "file",
                    "url_file",
                    "URL list",
                    "absolute path of the URL list (JSON or text), on the server.",
                    existing_file,
                    required=True,
                    server_path=True,
                ),
            ),
            build=_urls,
        ),
        SourceKindSpec(
            kind="flickr",
            options=(
                SourceOption("album", "flickr_album", "Flickr album", "album (photoset) id; or `user`.", non_empty),
                SourceOption("user", "flickr_user", "Flickr user", "user name or NSID; or `album`.", non_empty),
            ),
            build=_flickr,
            rules=_flickr_rules,
            one_of=frozenset({"album", "user"}),
        ),
        SourceKindSpec(
            kind="instagram",
            options=(
                SourceOption(
                    "session_file",
                    "instagram_session_file",
                    "Instagram session file",
                    "an instaloader session file on the server; or `login`.",
                    existing_file,
                    server_path=True,
                ),
                SourceOption(
                    "login",
                    "instagram_login",
                    "Instagram login",
                    "the account whose `instaloader --login` session to use.",
                    instagram_username,
                ),
                SourceOption(
                    "cookies_file",
                    "instagram_cookies_file",
                    "Browser cookies file",
                    "a cookies.txt exported from a logged-in browser, on the server.",
                    existing_file,
                    server_path=True,
                ),
                SourceOption(
                    "from_dir",
                    "instagram_from_dir",
                    "Download folder (offline)",
                    "a folder the instaloader command wrote, on the server: imported offline, never online; "
                    "or a way to log in.",
                    existing_folder,
                    server_path=True,
                ),
            ),
            build=_instagram,
            rules=_instagram_rules,
            one_of=frozenset({*_INSTAGRAM_LOGINS, "from_dir"}),
        ),
    )
}


def source_options_check(*, kind: str, options: Mapping[str, str]) -> dict[str, str]:
    """The options of a ``kind`` profile, checked (server paths must exist, inside PHOTOSEARCH_IMPORT_ROOTS) and
    normalised; ``SourceOptionsInvalid`` with every problem, keyed by option."""
    spec = SOURCE_KINDS[kind]
    allowed = ", ".join(sorted(spec.option_names))
    errors: dict[str, list[str]] = {}
    for name in sorted(set(options) - spec.option_names):
        errors[name] = [f"Not an option of {kind} profiles (they take {allowed})."]
    for option in spec.options:
        if option.required and not options.get(option.name):
            errors[option.name] = [f"Required for {kind} profiles."]
    cleaned = {}
    for option in spec.options:
        if option.name in options and option.name not in errors:
            try:
                cleaned[option.name] = option.check(str(options[option.name]))
            except ValueError as exc:
                errors[option.name] = [str(exc)]
    for name, messages in spec.rules(
        {name: value for name, value in options.items() if name in spec.option_names}
    ).items():
        errors.setdefault(name, []).extend(messages)
    if errors:
        raise SourceOptionsInvalid(errors)
    return cleaned


def source_build(context: BuildContext, *, kind: str) -> Source:
    """The importer for a ``kind`` profile. A server path outside PHOTOSEARCH_IMPORT_ROOTS is refused here too
    (``SourceNotFound``): options stored before the roots were set, a run's own ``from_dir``."""
    spec = SOURCE_KINDS[kind]
    for name in [option.name for option in spec.options if option.server_path]:
        value = context.options.get(name)
        if value and (reason := path_outside_roots(Path(str(value)), settings.PHOTOSEARCH_IMPORT_ROOTS)):
            raise SourceNotFound(reason)
    return spec.build(context)


def source_options_merged(*, kind: str, stored: Mapping[str, object], given: Mapping[str, object]) -> dict[str, object]:
    """A ``kind`` profile's ``stored`` options updated with ``given``. Given one of ``SourceKindSpec.one_of``, the
    profile forgets the others, so it reruns the way it was last imported."""
    one_of = SOURCE_KINDS[kind].one_of if kind in SOURCE_KINDS else frozenset()
    kept = {name: value for name, value in stored.items() if not (one_of & set(given) and name in one_of)}
    return {**kept, **given}


def source_option_fields() -> dict[str, tuple[str, str]]:
    """Every option of every kind: name → (the kinds that take it, its help), for forms and schemas."""
    fields: dict[str, tuple[str, str]] = {}
    for spec in SOURCE_KINDS.values():
        for option in spec.options:
            fields[option.name] = (spec.kind, option.help)
    return fields
