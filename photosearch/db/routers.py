"""The database router: everything that does not name a database uses the primary.

Django's usual replica router sends every ORM read to a replica; here that would hand the reads that must see the
request's own writes — an import job's progress, the admin after a save, a service's read-modify-write in a
transaction, ``select_for_update`` — to a server that may lag. So replicas are opt-in: only the search read path
names one (``photosearch.db.replicas``), and this router keeps the rest, and every write, on the primary.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from photosearch.db.replicas import replica_is_down


class PrimaryRouter:
    def db_for_read(self, model, **hints):
        """The primary; an object read from a replica reads its relations (a photo's profile, a duplicate's
        original) on that replica too, unless it stopped answering since."""
        instance = hints.get("instance")
        alias = getattr(getattr(instance, "_state", None), "db", None)
        if alias and alias != DEFAULT_DB_ALIAS and not replica_is_down(alias):
            return alias
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        """Always the primary, also for an object that was read from a replica."""
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        """Replicas hold the primary's rows: an object read from one may point to one read from the other."""
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        """Only the primary is migrated; replicas replay its schema."""
        return db == DEFAULT_DB_ALIAS
