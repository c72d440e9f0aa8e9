"""Posts imported as an importer's records, through the real ingest service: shared by the search tests that need
photos with chosen words (not a test module)."""

from __future__ import annotations

from profiles.models import Profile
from profiles.services.photos import records_ingest
from profiles.sources.base import SourceRecord, hashtags_in
from tests.conftest import image_bytes


def ingest(profile: Profile, posts: dict[str, str], *, first_seed: int = 1) -> None:
    """Import ``posts`` (source id → caption) through the ingest service, as an importer's records."""
    records = [
        SourceRecord(source_id=name, image_url=f"https://img.example/{name}.jpg", text=text, hashtags=hashtags_in(text))
        for name, text in posts.items()
    ]
    seeds = {name: seed for seed, name in enumerate(posts, start=first_seed)}
    outcomes = []
    records_ingest(
        profile=profile,
        records=records,
        read=lambda record: image_bytes(seeds[record.source_id]),
        on_item=lambda record, outcome, reason: outcomes.append((record.source_id, outcome, reason)),
    )
    assert {outcome for _, outcome, _ in outcomes} == {"imported"}, outcomes
