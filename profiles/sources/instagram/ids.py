"""Ids of an Instagram post's photos, the same whichever source read it, so imports never duplicate."""

PERMALINK = "https://www.instagram.com/p/{shortcode}/"


def instagram_source_id(shortcode: str, index: int, *, carousel: bool) -> str:
    """A single image's id is its post's shortcode; carousel item ``index`` (from 1) is ``{shortcode}_{index}``."""
    return f"{shortcode}_{index}" if carousel else shortcode


def instagram_permalink(shortcode: str) -> str:
    return PERMALINK.format(shortcode=shortcode)
