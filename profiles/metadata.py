"""The fields an import writes on a photo, from the record and the image's EXIF. Pure: no database, no storage."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from profiles.exif import image_metadata
from profiles.models import TakenAtSource
from profiles.places import place_at
from profiles.sources.base import SourceRecord, mentions_in
from profiles.sources.text import date_plausible, handles_clean
from profiles.timezones import offset_minutes, wall_clock_in, zone_at
from profiles.words import hashtag_words, text_config_detect

# Dates the image's own EXIF replaces: a stamp in a file name is a copy of it at best, a file time a guess.
_WEAKER_THAN_EXIF = {TakenAtSource.FILE_NAME, TakenAtSource.FILE_TIME}


def photo_metadata(*, record: SourceRecord, data: bytes) -> dict[str, Any]:
    """``Photo`` field values for ``record`` and its image bytes ``data``.

    - ``taken_at``: the source's own date, else EXIF's, else the record's weaker one (a file-name stamp), each only
      if plausible; ``taken_at_source`` says which.
    - ``taken_at_offset`` (minutes): EXIF's, else the time zone of the place's coordinates (an EXIF wall clock is
      then read there, not in the server's zone), else None.
    - Coordinates: the source's, else the image's GPS; city, region and country from the nearest GeoNames town.
    - ``people``: the handles the source names, then the @mentions in the text.
    """
    image = image_metadata(data, default_zone=timezone.get_default_timezone())
    # The record's date passed the date rule when the record was made (sources/text.py); EXIF's passes it here.
    image_taken_at = date_plausible(image.taken_at)
    taken_at, taken_at_source = (
        record.taken_at,
        record.taken_at_source or (TakenAtSource.SOURCE if record.taken_at else ""),
    )
    if image_taken_at is not None and (taken_at is None or taken_at_source in _WEAKER_THAN_EXIF):
        taken_at, taken_at_source = image_taken_at, TakenAtSource.EXIF
    latitude: float | None
    longitude: float | None
    if record.latitude is not None and record.longitude is not None:
        latitude, longitude = record.latitude, record.longitude
    else:
        latitude, longitude = image.latitude, image.longitude
    place = place_at(latitude, longitude) if latitude is not None and longitude is not None else None
    offset = image.utc_offset if taken_at_source == TakenAtSource.EXIF else None
    if taken_at is not None and offset is None and place is not None:
        assert latitude is not None and longitude is not None  # a place was found at them
        zone = zone_at(latitude=latitude, longitude=longitude, country_code=place.country_code, moment=taken_at)
        if zone is not None:
            if taken_at_source == TakenAtSource.EXIF:  # the camera's clock, read in the server's zone so far
                taken_at = wall_clock_in(zone, taken_at)
            offset = taken_at.astimezone(zone).utcoffset()
    return {
        "permalink": record.permalink,
        "original_url": record.original,
        "taken_at": taken_at,
        "taken_at_offset": offset_minutes(offset) if taken_at is not None else None,
        "taken_at_source": str(taken_at_source) if taken_at is not None else "",
        "source_text": record.text,
        "hashtags": " ".join(record.hashtags),
        "hashtag_words": hashtag_words(record.hashtags),
        "text_config": text_config_detect(record.text),
        "alt_text": record.alt_text,
        "media_type": record.media_type,
        "likes": record.likes,
        "extra": dict(record.extra),
        "camera_make": image.camera_make,
        "camera_model": image.camera_model,
        "lens": image.lens,
        "latitude": latitude,
        "longitude": longitude,
        "place_name": record.place_name,
        "place_id": record.place_id,
        "city": place.city if place else "",
        "region": place.region if place else "",
        "country": place.country if place else "",
        "country_code": place.country_code if place else "",
        "people": " ".join(handles_clean((*record.people, *mentions_in(record.text)))),
    }
