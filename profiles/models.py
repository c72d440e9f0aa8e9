from typing import Any

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

    source_kind = models.CharField(max_length=20, choices=SourceKind)
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
    last_import: "ImportJob | None"  # not a column: set on the profiles profiles.selectors lists

    class Meta:
        ordering = ["handle"]
        constraints = [models.UniqueConstraint(fields=["source_kind", "handle"], name="profile_unique_source_handle")]

    def __str__(self) -> str:
        return self.display_name or self.handle


# The text-search configuration of the generated captions (English tags) and the default of a photo's own words
# (``Photo.text_config`` holds each photo's: profiles/words.py detects it at import).
TEXT_SEARCH_CONFIG = "english"
# Every word is also indexed unstemmed, whatever the photo's language: an exact word always matches.
EXACT_WORDS_CONFIG = "simple"


class TextSearchConfigField(models.CharField):
    """A ``regconfig`` column, read and written as its name; of that type (not cast text) it can drive the generated
    ``search_vector``, since ``to_tsvector(regconfig, text)`` is immutable."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 63)
        super().__init__(*args, **kwargs)

    def db_type(self, connection):
        return "regconfig"

    def cast_db_type(self, connection):
        return "regconfig"


# Weighted full-text document: the post's own words (A) > the generated caption (B) > hashtags, alt text, places,
# people and every own word unstemmed (C) > words read in the image (D: OCR misreads, a sign says less). D holds
# nothing else, so a match in D alone is a match by the image's text. Generated, so right whatever writes the row.
_OWN_WORDS = ("source_text", "hashtags", "hashtag_words", "alt_text")
_PLACE_AND_PEOPLE = ("place_name", "city", "region", "country", "people")
_SEARCH_DOCUMENT = (
    SearchVector("source_text", config=F("text_config"), weight="A")
    + SearchVector("caption", config=TEXT_SEARCH_CONFIG, weight="B")
    + SearchVector("hashtags", "hashtag_words", "alt_text", config=F("text_config"), weight="C")
    + SearchVector(*_OWN_WORDS, *_PLACE_AND_PEOPLE, config=EXACT_WORDS_CONFIG, weight="C")
    + SearchVector("ocr_text", config=F("text_config"), weight="D")
    + SearchVector("ocr_text", config=EXACT_WORDS_CONFIG, weight="D")
)
# The weight that holds only the words read in the image.
IMAGE_TEXT_WEIGHT = "D"
# The GIN index of search_vector (search.services.index_builds.text_index_flush merges its pending list).
TEXT_INDEX_NAME = "photo_search_vector_gin"


class MediaType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video (cover image)"


class TakenAtSource(models.TextChoices):
    """Where ``Photo.taken_at`` came from, most trusted first."""

    SOURCE = "source", "The source (post date, Flickr date taken, URL list)"
    EXIF = "exif", "The image's EXIF (DateTimeOriginal)"
    FILE_NAME = "file_name", "A date stamp in the file name"
    FILE_TIME = "file_time", "The file's modification time (a guess)"


def _text(max_length: int | None = None, help_text: str = "", **kwargs):
    """A text column that is empty, not NULL, when unknown — also for rows written before it existed."""
    field = models.CharField if max_length else models.TextField
    extra: dict[str, Any] = {"max_length": max_length} if max_length else {}
    return field(blank=True, default="", db_default="", help_text=help_text, **extra, **kwargs)


class Photo(models.Model):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="photos")
    source_id = models.CharField(max_length=512, help_text="Stable id within the source (shortcode, path, URL…).")
    permalink = models.URLField(max_length=2000, blank=True, help_text="Link to the original post or page.")
    original_url = models.TextField(blank=True, help_text="Where the image came from: URL or file path.")
    thumbnail = models.FileField(max_length=500, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    # The instant stays in taken_at (sorting, filters); the offset only says how the place's clocks read it.
    taken_at_offset = models.SmallIntegerField(
        null=True,
        blank=True,
        help_text="UTC offset where the photo was taken, in minutes east of UTC (Sydney in summer: 660); null: "
        "unknown.",
    )
    source_text = models.TextField(blank=True, help_text="The source's own words: post caption, title, sidecar text.")
    hashtags = models.TextField(blank=True, help_text="Space-separated, without '#'.")
    hashtag_words = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="Words split out of compound hashtags (#southbeach → south beach).",
    )
    text_config = TextSearchConfigField(
        default=TEXT_SEARCH_CONFIG,
        db_default=TEXT_SEARCH_CONFIG,
        help_text="Text-search configuration (language) its own words are stemmed with.",
    )
    alt_text = models.TextField(blank=True)
    media_type = models.CharField(max_length=10, choices=MediaType, default=MediaType.IMAGE)
    likes = models.PositiveIntegerField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True, help_text="Source metadata kept as is: licence, owner, post…")
    # Same bytes already in this profile: this row keeps its own id, text and link; search, thumbnails and
    # embeddings use the original only.
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    caption = models.TextField(blank=True, help_text="Generated caption.")
    # When, where, with what and with whom: read at import from the image's EXIF and the post's metadata.
    taken_at_source = _text(16, "Where taken_at came from.", choices=TakenAtSource.choices)
    camera_make = _text(100)
    camera_model = _text(100)
    lens = _text(200)
    latitude = models.FloatField(null=True, blank=True, help_text="WGS 84 degrees, north positive.")
    longitude = models.FloatField(null=True, blank=True, help_text="WGS 84 degrees, east positive.")
    place_name = _text(300, "The source's name for the place (an Instagram location, a Flickr locality).")
    place_id = _text(64, "The source's id of the place (an Instagram location id).")
    city = _text(200, "Nearest town of 1,000 people or more (GeoNames), from the coordinates.")
    region = _text(200)
    country = _text(100)
    country_code = _text(2, "ISO 3166-1 alpha-2, upper case.")
    people = _text(help_text="Space-separated handles without '@': tagged accounts, @mentions, the Flickr owner.")
    # Words read in the image: by the OCR engine ``ocr_engine`` names (empty: not read yet), from ``text_image``.
    ocr_text = _text(help_text="Words read in the image (OCR).")
    ocr_engine = _text(100, "OCR engine and version that read ocr_text; empty: not read yet.")
    ocr_at = models.DateTimeField(null=True, blank=True)
    text_image = models.FileField(
        max_length=500,
        blank=True,
        default="",
        db_default="",
        help_text="Larger JPEG rendition kept for reading the words in the image; empty when OCR is off.",
    )
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the original image bytes.")
    # No fixed dimension: the model decides it. Each model gets its own partial HNSW index over
    # `embedding::halfvec(dim)` (search.services.index_builds.embedding_index_ensure).
    embedding = HalfVectorField(null=True, blank=True)
    embedding_model = models.CharField(max_length=255, blank=True, db_index=True)
    embedded_at = models.DateTimeField(null=True, blank=True)
    search_vector = models.GeneratedField(
        expression=_SEARCH_DOCUMENT, output_field=SearchVectorField(), db_persist=True
    )
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["profile", "source_id"], name="photo_unique_profile_source_id")]
        indexes = [
            GinIndex(fields=["search_vector"], name=TEXT_INDEX_NAME),
            # The languages in use, one index probe each (search.ranking.strategy.text_configs_in_use).
            models.Index(fields=["text_config"], name="photo_text_config"),
            models.Index(fields=["profile", "taken_at"], name="photo_profile_taken_at"),
            models.Index(fields=["profile", "content_hash"], name="photo_profile_content_hash"),
            # Across profiles: the other copies of a page's images (search.ranking.duplicates, ``also_in``).
            models.Index(
                fields=["content_hash"],
                name="photo_original_content_hash",
                condition=models.Q(duplicate_of__isnull=True),
            ),
            # The home page's recent photos: the first page is an index read, not a sort of the library.
            models.Index(
                models.F("taken_at").desc(nulls_last=True),
                models.F("id").desc(),
                name="photo_recent",
                condition=models.Q(duplicate_of__isnull=True),
            ),
            # Place filters and their listing (country, then city), and the bounding box of a distance filter.
            models.Index(
                fields=["country_code", "city"], name="photo_country_city", condition=~models.Q(country_code="")
            ),
            models.Index(
                fields=["latitude", "longitude"], name="photo_lat_lon", condition=models.Q(latitude__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile.handle}/{self.source_id}"

    @property
    def hashtag_list(self) -> list[str]:
        return self.hashtags.split()

    @property
    def shown_ocr_text(self) -> str:
        """The words read in the image: a duplicate shares its original's image, so its words too."""
        return self.duplicate_of.ocr_text if self.duplicate_of_id else self.ocr_text  # type: ignore[union-attr]

    @property
    def people_list(self) -> list[str]:
        return self.people.split()

    @property
    def camera(self) -> str:
        """Make and model as people say it ("Apple iPhone 13", not "Apple Apple iPhone 13")."""
        make, model = self.camera_make.strip(), self.camera_model.strip()
        if make and model.lower().startswith(make.split()[0].lower()):
            return model
        return " ".join(part for part in (make, model) if part)

    @property
    def place(self) -> str:
        """The place as people say it: the source's name for it, else "city, region, country" (repeats dropped)."""
        names = (self.place_name, self.country) if self.place_name else (self.city, self.region, self.country)
        kept: list[str] = []
        for name in names:
            # The town "Lisbon" in the region "Lisbon": named once. ("France" in "Île-de-France" is no repeat.)
            if name and name.casefold() not in (other.casefold() for other in kept):
                kept.append(name)
        return ", ".join(kept)


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
    status_words: str  # not columns: set on the jobs profiles.selectors lists (import_job_status_words)
    next_step: str

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One import per profile at a time, enforced by the database.
            models.UniqueConstraint(
                fields=["profile"], condition=models.Q(status="running"), name="importjob_one_running_per_profile"
            )
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
