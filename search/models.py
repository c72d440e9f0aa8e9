"""People in the photos: the faces the face engine found (``Face``), the photos it has looked at (``FaceScan``), and
the persons faces are grouped into (``Person``), named by a person or from the handles the posts tag.

The faces stage (search/services/faces.py) writes ``Face`` and ``FaceScan``; the grouping and the naming
(search/services/persons.py, search/services/person_names.py) write ``Person`` and ``Face.person``. The wide
``Photo`` row is never written by either: an update of it re-inserts its HNSW and GIN entries.
"""

from __future__ import annotations

from django.db import models
from pgvector.django import HnswIndex, VectorField

# dlib's face descriptor: 128 numbers, compared by Euclidean distance.
FACE_DESCRIPTOR_DIMENSIONS = 128
FACE_INDEX_NAME = "face_descriptor_hnsw"


class Person(models.Model):
    """One person: the faces grouped as the same face. ``name`` is typed by a person and wins over anything found;
    ``handle`` is the account the posts tag (or @mention) on this person's photos, chosen by
    ``search.services.person_names``, with the counts that chose it in ``name_evidence``."""

    name = models.CharField(max_length=200, blank=True, default="", help_text="Typed by a person; never overwritten.")
    handle = models.CharField(
        max_length=100, blank=True, default="", help_text="Account found on its photos (tags, @mentions), no '@'."
    )
    name_evidence = models.JSONField(
        default=dict, blank=True, help_text='Why the handle, e.g. {"handle": "maria", "tagged": 7, "photos": 9}.'
    )
    hidden = models.BooleanField(default=False, help_text="Kept out of lists and suggestions; stays hidden.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.shown_name or f"Person {self.pk}"

    @property
    def shown_name(self) -> str:
        """The typed name, else ``@handle``, else ""."""
        return self.name or (f"@{self.handle}" if self.handle else "")


class Face(models.Model):
    """One face found in a photo by the engine ``engine``: where (box relative to the image, 0..1), how well
    (detector score, quality 0..1, shorter side in pixels) and its descriptor. ``crop`` names a small JPEG of it in
    the default storage, deleted with the row."""

    photo = models.ForeignKey("profiles.Photo", on_delete=models.CASCADE, related_name="faces")
    x = models.FloatField()
    y = models.FloatField()
    w = models.FloatField()
    h = models.FloatField()
    score = models.FloatField()
    quality = models.FloatField()
    size = models.PositiveIntegerField(help_text="Shorter side of the face's box in the analysed image, in pixels.")
    descriptor = VectorField(dimensions=FACE_DESCRIPTOR_DIMENSIONS)
    engine = models.CharField(max_length=100)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="faces")
    rejected_person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text='"Not this person": the grouping never puts the face back with it.',
    )
    crop = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            HnswIndex(
                name=FACE_INDEX_NAME,
                fields=["descriptor"],
                opclasses=["vector_l2_ops"],  # dlib's descriptors are compared by Euclidean distance
                m=16,
                ef_construction=64,
            ),
            models.Index(fields=["person", "photo"], name="face_person_photo"),
        ]

    def __str__(self) -> str:
        return f"Face {self.pk} in photo {self.photo_id}"


class FaceScan(models.Model):
    """A photo the face engine has looked at: which engine, from which image, how many faces (0: none), or why it
    failed. Its own row, so the stage never writes the wide ``Photo`` row, and a face-count filter has a column."""

    photo = models.OneToOneField("profiles.Photo", on_delete=models.CASCADE, primary_key=True, related_name="face_scan")
    engine = models.CharField(max_length=100)
    image = models.CharField(max_length=500, blank=True, default="", help_text="The stored image analysed.")
    face_count = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="", help_text="Why the photo could not be analysed; empty: it was.")
    scanned_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["face_count"], name="face_scan_count", condition=models.Q(face_count__gt=0))]

    def __str__(self) -> str:
        return f"Photo {self.photo_id}: {self.face_count} faces ({self.engine})"
