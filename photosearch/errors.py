"""Domain errors raised by services and selectors, free of HTTP; the API's handler and the pages map them."""

from __future__ import annotations


class InvalidInput(ValueError):
    """The input cannot be used as given (API: 400). ``str(exc)`` is the reason to show; ``field`` the parameter,
    None for the request as a whole."""

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
    """The request is valid but the current state does not allow it (API: 409)."""
