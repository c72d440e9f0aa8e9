"""What profiles tell the rest of the project. Profiles never imports search: search listens (its AppConfig.ready)."""

from django.dispatch import Signal

# Sent when an import job ends, whatever its status (not when its profile was deleted meanwhile), with ``profile_id``,
# ``changed`` (photos imported or updated) and ``embed`` (False for ``--no-embed``).
import_finished = Signal()
