"""The project's domain errors: what services and selectors raise when a request cannot be served, with no notion
of HTTP. The API's exception handler (``photosearch.api``) and the pages map them to answers in one place each."""

from __future__ import annotations


class InvalidInput(ValueError):
    """The input cannot be used as given. ``str(exc)`` is the reason to show the user; ``field`` the parameter it is
    about (``q``, ``from``, ``limit``…), None when it concerns the request as a whole. API: 400."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple[type[InvalidInput], tuple[str, str | None]]:
        # ValueError pickles only ``args``; without this, ``field`` would be lost crossing a process boundary.
        return (type(self), (str(self), self.field))

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    @property
    def labelled(self) -> str:
        """The reason prefixed with its field (``from: …``), as the API's ``error`` and the pages show it."""
        return f"{self.field}: {self}" if self.field else str(self)


class StateConflict(Exception):
    """The request is valid but the current state does not allow it (a photo not embedded yet, an import of the
    profile already running). API: 409."""
