"""What an instaloader failure means for an import: which ``SourceError`` ends the run, and one sentence for the user
saying what to do."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import requests
from instaloader import (
    AbortDownloadException,
    BadCredentialsException,
    ConnectionException,
    InstaloaderException,
    LoginException,
    LoginRequiredException,
    PrivateProfileNotFollowedException,
    ProfileNotExistsException,
    QueryReturnedForbiddenException,
    TooManyRequestsException,
    TwoFactorAuthRequiredException,
)

from profiles.sources.base import SourceError, SourceNotFound, SourceRefused, SourceUnavailable


class ThrottleWaitTooLong(AbortDownloadException):
    """instaloader's own request throttle wanted to wait longer than we allow."""

    def __init__(self, seconds: float):
        super().__init__(f"instaloader's request throttle wants to wait {seconds:.0f} seconds")
        self.seconds = seconds


@dataclass(frozen=True)
class _Outcome:
    """How an instaloader failure ends the run: our error class, a label of what Instagram did (used for the
    anonymous case) and the sentence for a logged-in run. Fields: {profile}, {viewer}, {account}, {detail},
    {minutes}."""

    error: type[SourceError]
    label: str
    message: str


_RESUMES = "the import will continue where it stopped"
NOT_FOUND = _Outcome(
    SourceNotFound,
    "profile not found",
    "Instagram profile {profile} does not exist or is not visible to {viewer}; check the username.",
)
PRIVATE = _Outcome(
    SourceRefused,
    "private profile",
    "Instagram profile {profile} is private and {viewer} does not follow it; follow it from that account (or use "
    "the session of an account that does), then import again.",
)
LOGIN_REQUIRED = _Outcome(
    SourceRefused,
    "login required",
    "Instagram asked {viewer} to log in again (the session has expired or was logged out); run `instaloader "
    "--login {account}` to renew it, then import again — " + _RESUMES + ".",
)
LOGIN_REJECTED = _Outcome(
    SourceRefused,
    "login rejected",
    "Instagram rejected the login ({detail}); run `instaloader --login {account}` in a terminal to log in again "
    "(it handles two-factor codes), then import again.",
)
CHECKPOINT = _Outcome(
    SourceRefused,
    "security checkpoint",
    "Instagram wants {viewer} to pass a security check (checkpoint/challenge); open instagram.com in a browser "
    "logged in as that account, complete the check, then import again — " + _RESUMES + ".",
)
ACTION_BLOCKED = _Outcome(
    SourceRefused,
    "actions blocked (feedback_required)",
    "Instagram has temporarily blocked {viewer} (feedback_required); wait a day, then import again — " + _RESUMES + ".",
)
PLEASE_WAIT = _Outcome(
    SourceRefused,
    'HTTP 401 "Please wait a few minutes"',
    'Instagram is throttling {viewer} (HTTP 401 "Please wait a few minutes"); wait at least an hour, then '
    "import again — " + _RESUMES + ".",
)
RATE_LIMITED = _Outcome(
    SourceRefused,
    "HTTP 429 Too Many Requests",
    "Instagram is rate-limiting {viewer} (HTTP 429 Too Many Requests); wait a few hours, then import again — "
    + _RESUMES
    + ".",
)
FORBIDDEN = _Outcome(
    SourceRefused,
    "HTTP 403 Forbidden",
    "Instagram refused access to {viewer} (HTTP 403 Forbidden); wait a few hours and, if it persists, log in "
    "again with `instaloader --login {account}`, then import again — " + _RESUMES + ".",
)
THROTTLE_WAIT = _Outcome(
    SourceRefused,
    "too many requests in a short time",
    "This session has made as many requests as Instagram tolerates for now (instaloader would have to wait "
    "{minutes} minutes); import again after that — " + _RESUMES + ".",
)
ABORTED = _Outcome(
    SourceRefused,
    "request refused",
    "Instagram refused a request ({detail}); wait a while, then import again — " + _RESUMES + ".",
)
NETWORK = _Outcome(
    SourceUnavailable,
    "network error",
    "Could not reach Instagram ({detail}); check the network connection and try again later.",
)
UNEXPECTED = _Outcome(
    SourceUnavailable,
    "unexpected answer",
    "Instagram gave an answer instaloader could not use ({detail}); try again later, and update instaloader if "
    "it keeps happening.",
)
ANONYMOUS_REFUSED = (
    "Instagram refused to show {profile}'s posts to an anonymous visitor ({label}); anonymous access hardly works "
    "any more: run `instaloader --login YOUR_ACCOUNT` once and import with that login (or a session or cookies file)."
)

# Checked in this order: specific exception types first, then the text of the generic ones (AbortDownloadException
# and ConnectionException carry the HTTP status and Instagram's message only in their text), then the fallbacks.
_BY_TYPE: tuple[tuple[type[BaseException], _Outcome], ...] = (
    (ProfileNotExistsException, NOT_FOUND),
    (PrivateProfileNotFollowedException, PRIVATE),
    (LoginRequiredException, LOGIN_REQUIRED),
    (TooManyRequestsException, RATE_LIMITED),
    (QueryReturnedForbiddenException, FORBIDDEN),
    (ThrottleWaitTooLong, THROTTLE_WAIT),
    (TwoFactorAuthRequiredException, LOGIN_REJECTED),
    (BadCredentialsException, LOGIN_REJECTED),
)
_BY_TEXT: tuple[tuple[re.Pattern[str], _Outcome], ...] = (
    (re.compile(r"checkpoint|challenge", re.IGNORECASE), CHECKPOINT),
    (re.compile(r"feedback_required"), ACTION_BLOCKED),
    (re.compile(r"please wait a few minutes|\b401\b", re.IGNORECASE), PLEASE_WAIT),
    (re.compile(r"\b429\b|too many requests", re.IGNORECASE), RATE_LIMITED),
    (re.compile(r"\b403\b|forbidden", re.IGNORECASE), FORBIDDEN),
    (re.compile(r"redirected to login page", re.IGNORECASE), LOGIN_REQUIRED),
)
_FALLBACKS: tuple[tuple[type[BaseException], _Outcome], ...] = (
    (LoginException, LOGIN_REJECTED),
    (AbortDownloadException, ABORTED),
    (ConnectionException, NETWORK),
    (requests.RequestException, NETWORK),
    (InstaloaderException, UNEXPECTED),
)
# What records() translates. AbortDownloadException is not an InstaloaderException; some instaloader paths let
# requests' exceptions through.
INSTAGRAM_ERRORS = (InstaloaderException, AbortDownloadException, requests.RequestException)


def source_error(exc: BaseException, *, profile: str, viewer: str | None) -> SourceError:
    """Our error for an instaloader failure, with one sentence saying what happened and what to do. ``viewer`` is
    the logged-in account, None for an anonymous run."""
    outcome = _outcome(exc)
    detail = _first_line(str(exc))
    if viewer is None and outcome.error is SourceRefused:
        return SourceRefused(ANONYMOUS_REFUSED.format(profile=profile, label=outcome.label))
    message = outcome.message.format(
        profile=profile,
        viewer=f"the account {viewer}" if viewer else "anonymous visitors",
        account=viewer or "YOUR_ACCOUNT",
        detail=detail,
        minutes=math.ceil(getattr(exc, "seconds", 0) / 60),
    )
    return outcome.error(message)


def _outcome(exc: BaseException) -> _Outcome:
    for kind, outcome in _BY_TYPE:
        if isinstance(exc, kind):
            return outcome
    if isinstance(exc, (AbortDownloadException, ConnectionException, LoginException)):
        text = str(exc)
        for pattern, outcome in _BY_TEXT:
            if pattern.search(text):
                return outcome
    for kind, outcome in _FALLBACKS:
        if isinstance(exc, kind):
            return outcome
    return UNEXPECTED


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no details"
    return line if len(line) <= limit else line[: limit - 1] + "…"
