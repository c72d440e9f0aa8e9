from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F
from pgvector.django import HalfVectorField

from profiles.sources.text import paths_hidden


class SourceKind(models.TextChoices):
    INSTAGRAM = "instagram", "Instagram"
    FLICKR = "flickr", "Flickr"
    FOLDER = "folder", "Local folder"
    URLS = "urls", "URL list"


class Profile(models.Model):
    """A collection of photos from one source: an Instagram account, a Flickr album, a folder, a URL list."""

    source_kind = models.CharField(max_length=20, choices=SourceKind.choices)
    handle = models.CharField(max_length=255, help_text="Username, album id, or a name you choose for a folder.")
    display_name = models.CharField(max_length=255, blank=True)
    source_options = models.JSONField(
        default=dict,
        blank=True,
        help_text='How to reach the source again, e.g. {"path": "/photos"}, {"album": "7215…"}, {"user": "name"}, '
        '{"file": "urls.json"}, {"session_file": "…"}.',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["handle"]
        constraints = [
            models.UniqueConstraint(fields=["source_kind", "handle"], name="profile_unique_source_handle"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.handle


# The text-search configuration of the generated captions (English tags) and the default of a photo's own words
# (``Photo.text_config`` holds each photo's: profiles/words.py detects it at import).
TEXT_SEARCH_CONFIG = "english"
# Every word is also indexed unstemmed, whatever the photo's language: an exact word always matches.
EXACT_WORDS_CONFIG = "simple"


class TextSearchConfigField(models.CharField):
    """A PostgreSQL text-search configuration (``regconfig``), read and written as its name. Being of that type (not
    text cast to it), it can drive the generated ``search_vector``: ``to_tsvector(regconfig, text)`` is immutable."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 63)
        super().__init__(*args, **kwargs)

    def db_type(self, connection):
        return "regconfig"

    def cast_db_type(self, connection):
        return "regconfig"


# Weighted full-text document. The post's own words (A) rank above the generated caption (B), which ranks above
# hashtags, the words split out of compound hashtags and alt text (C) — each stemmed in the photo's language — and
# the same words unstemmed (D). A generated column keeps it correct whatever writes the row.
_OWN_WORDS = ("source_text", "hashtags", "hashtag_words", "alt_text")
_SEARCH_DOCUMENT = (
    SearchVector("source_text", config=F("text_config"), weight="A")
    + SearchVector("caption", config=TEXT_SEARCH_CONFIG, weight="B")
    + SearchVector("hashtags", "hashtag_words", "alt_text", config=F("text_config"), weight="C")
    + SearchVector(*_OWN_WORDS, config=EXACT_WORDS_CONFIG, weight="D")
)


class MediaType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video (cover image)"


class Photo(models.Model):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="photos")
    source_id = models.CharField(max_length=512, help_text="Stable id within the source (shortcode, path, URL…).")
    permalink = models.URLField(max_length=2000, blank=True, help_text="Link to the original post or page.")
    original_url = models.TextField(blank=True, help_text="Where the image came from: URL or file path.")
    thumbnail = models.FileField(max_length=500, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    source_text = models.TextField(blank=True, help_text="The source's own words: post caption, title, sidecar text.")
    hashtags = models.TextField(blank=True, help_text="Space-separated, without '#'.")
    hashtag_words = models.TextField(
        blank=True, default="", db_default="",
        help_text="Words split out of compound hashtags (#southbeach → south beach).",
    )
    text_config = TextSearchConfigField(
        default=TEXT_SEARCH_CONFIG, db_default=TEXT_SEARCH_CONFIG,
        help_text="Text-search configuration (language) its own words are stemmed with.",
    )
    alt_text = models.TextField(blank=True)
    media_type = models.CharField(max_length=10, choices=MediaType.choices, default=MediaType.IMAGE)
    likes = models.PositiveIntegerField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True, help_text="Source metadata kept as is: licence, owner, post…")
    # Same bytes already in this profile (a repost, a repeated carousel image): this row keeps its own source id,
    # text and link, but search, thumbnails and embeddings use the original only.
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    caption = models.TextField(blank=True, help_text="Generated caption.")
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the original image bytes.")
    # No fixed dimension: the model decides it (ViT-B-32: 512, ViT-L-14: 768). Each model gets its own partial HNSW
    # index over `embedding::halfvec(dim)`, created by search.services.embedding_index_ensure.
    embedding = HalfVectorField(null=True, blank=True)
    embedding_model = models.CharField(max_length=255, blank=True, db_index=True)
    embedded_at = models.DateTimeField(null=True, blank=True)
    search_vector = models.GeneratedField(expression=_SEARCH_DOCUMENT, output_field=SearchVectorField(), db_persist=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "source_id"], name="photo_unique_profile_source_id"),
        ]
        indexes = [
            GinIndex(fields=["search_vector"], name="photo_search_vector_gin"),
            # The languages in use, one index probe each (search.ranking.strategy.text_configs_in_use).
            models.Index(fields=["text_config"], name="photo_text_config"),
            models.Index(fields=["profile", "taken_at"], name="photo_profile_taken_at"),
            models.Index(fields=["profile", "content_hash"], name="photo_profile_content_hash"),
        ]

    def __str__(self) -> str:
        return f"{self.profile.handle}/{self.source_id}"

    @property
    def hashtag_list(self) -> list[str]:
        return self.hashtags.split()


class ImportJob(models.Model):
    """One run of an importer over a profile: created queued, claimed by one runner, counts kept live."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        INTERRUPTED = "interrupted", "Interrupted (rerun to resume)"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused (another import of the profile was running)"

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="import_jobs")
    options = models.JSONField(default=dict, blank=True, help_text="Per-run options: fast_update, limit, from_dir…")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    total = models.PositiveIntegerField(null=True, blank=True, help_text="Known in advance for folders and lists.")
    imported = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True, help_text="[source id, reason] of skipped/failed items.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last progress write of the runner.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One import per profile at a time, enforced by the database.
            models.UniqueConstraint(
                fields=["profile"], condition=models.Q(status="running"), name="importjob_one_running_per_profile"
            ),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} of {self.profile} ({self.status})"

    @property
    def public_error(self) -> str:
        """``last_error`` as pages and the API show it: absolute server paths cut to their last part (the admin
        shows the whole message to staff)."""
        return paths_hidden(self.last_error)

    @property
    def processed(self) -> int:
        return self.imported + self.updated + self.unchanged + self.skipped + self.failed
