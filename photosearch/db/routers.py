"""Everything that names no database uses the primary. Replicas are opt-in (search reads) because reads that must see
the request's own writes cannot go to a server that may lag."""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model

from photosearch.db.replicas import replica_is_down


class PrimaryRouter:
    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        """The primary; an object read from a replica reads its relations (a photo's profile, a duplicate's
        original) on that replica too, unless it stopped answering since."""
        instance = hints.get("instance")
        alias: str | None = getattr(getattr(instance, "_state", None), "db", None)
        if alias and alias != DEFAULT_DB_ALIAS and not replica_is_down(alias):
            return alias
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        """Always the primary, also for an object that was read from a replica."""
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        """Replicas hold the primary's rows: an object read from one may point to one read from the other."""
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        """Only the primary is migrated; replicas replay its schema."""
        return db == DEFAULT_DB_ALIAS
