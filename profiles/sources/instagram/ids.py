"""How photosearch names an Instagram post's photos, whichever source read it (live, an instaloader folder, an
instagram-scraper list): the same post always gets the same ids, so imports from different sources never duplicate."""

PERMALINK = "https://www.instagram.com/p/{shortcode}/"


def instagram_source_id(shortcode: str, index: int, *, carousel: bool) -> str:
    """A single image's id is its post's shortcode; carousel item ``index`` (from 1) is ``{shortcode}_{index}``."""
    return f"{shortcode}_{index}" if carousel else shortcode


def instagram_permalink(shortcode: str) -> str:
    return PERMALINK.format(shortcode=shortcode)
