"""What profiles tell the rest of the project. Profiles never imports search: search listens (its AppConfig.ready)."""

from django.dispatch import Signal

# Sent when an import job ends (whatever its status) with ``profile_id`` and ``changed`` (photos imported or updated:
# they need their embeddings computed). Search queues them for embedding.
import_finished = Signal()
