"""What a post's words need before indexing: their language (for the stemmer; ``english`` unless the detector is
sure) and the common words packed into hashtags. Models load once per process."""

from __future__ import annotations

import importlib.resources
import threading
from collections.abc import Iterable
from functools import cache, lru_cache

DEFAULT_CONFIG = "english"
DETECTION_CONFIDENCE = 0.9
COMMON_WORD_COUNT = 2_000_000
MIN_COMPOUND_LENGTH = 6
# ISO 639-1 → the PostgreSQL text-search configuration that stems it (those of PostgreSQL 13 and later: a photo's
# configuration is stored, so it must exist on every server the database may move to).
LANGUAGE_CONFIGS = {
    "ar": "arabic",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
}
TEXT_CONFIGS = frozenset(LANGUAGE_CONFIGS.values())
_lock = threading.Lock()


def text_config_detect(text: str) -> str:
    """The text-search configuration for ``text``: its language's when the detector is sure, else ``english``."""
    words = " ".join(word for word in text.split() if not word.startswith(("#", "@", "http")))
    if len(words) < 12:
        return DEFAULT_CONFIG
    with _lock:  # the identifier keeps per-call state
        language, probability = _identifier().classify(words)
    if probability < DETECTION_CONFIDENCE:
        return DEFAULT_CONFIG
    return LANGUAGE_CONFIGS.get(language, DEFAULT_CONFIG)


def hashtag_words(tags: Iterable[str]) -> str:
    """The words packed into compound hashtags, space-separated (empty when none splits)."""
    found: dict[str, None] = {}
    for tag in tags:
        for word in compound_split(tag):
            found.setdefault(word, None)
    return " ".join(found)


@lru_cache(maxsize=65_536)
def compound_split(tag: str) -> tuple[str, ...]:
    """The common words ``tag`` is made of, or () when it is not a compound of them."""
    tag = tag.lower()
    if len(tag) < MIN_COMPOUND_LENGTH or not tag.isalpha() or not tag.isascii():
        return ()
    dictionary = _segmenter()
    if dictionary.words.get(tag, 0) >= COMMON_WORD_COUNT:
        return ()
    parts = tuple(dictionary.word_segmentation(tag, max_edit_distance=0).segmented_string.split())
    if len(parts) < 2 or any(len(part) < 2 or dictionary.words.get(part, 0) < COMMON_WORD_COUNT for part in parts):
        return ()
    return parts


@cache
def _identifier():
    from py3langid import langid

    identifier = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
    identifier.set_languages([code for code in LANGUAGE_CONFIGS if code in identifier.labels])
    return identifier


@cache
def _segmenter():
    from symspellpy import SymSpell

    dictionary = SymSpell(max_dictionary_edit_distance=0, prefix_length=7)
    path = importlib.resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    with importlib.resources.as_file(path) as file:
        dictionary.load_dictionary(str(file), term_index=0, count_index=1)
    return dictionary
