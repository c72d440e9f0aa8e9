"""Language detection and compound-hashtag splitting with the real models the wheels ship (py3langid, symspellpy)."""

from __future__ import annotations

import pytest

from profiles.words import compound_split, hashtag_words, text_config_detect


@pytest.mark.parametrize(
    "tag, words",
    [
        ("southbeach", ("south", "beach")),
        ("beachfun", ("beach", "fun")),
        ("mygirl", ("my", "girl")),
        ("sunsetlovers", ("sunset", "lovers")),
        ("streetphotography", ("street", "photography")),
        ("photooftheday", ("photo", "of", "the", "day")),
        ("nofilter", ("no", "filter")),
    ],
)
def test_a_compound_hashtag_splits_into_its_words(tag, words):
    assert compound_split(tag) == words


@pytest.mark.parametrize("tag", ["lisboa", "instagood", "sunset", "miami", "travel", "x2021", "café", "ab"])
def test_a_tag_that_is_a_word_a_name_or_not_a_compound_of_common_words_stays_whole(tag):
    assert compound_split(tag) == ()


def test_the_words_of_several_tags_are_kept_once_each():
    assert hashtag_words(["southbeach", "beachfun", "miami", "SouthBeach"]) == "south beach fun"


@pytest.mark.parametrize(
    "text, config",
    [
        ("Miami lights and she is the brightest and prettiest one ✨ #mygirl #miami", "english"),
        ("Les plages de Lisbonne sont magnifiques ce matin, le soleil brille", "french"),
        ("Dia lindo na praia com os amigos, o mar estava perfeito #praia", "portuguese"),
        ("Ein wunderschöner Tag am See mit der ganzen Familie", "german"),
        ("Praia 🌊 #lisboa", "english"),  # too short to tell: the default (exact words still match)
        ("", "english"),
    ],
)
def test_a_post_is_stemmed_in_its_language_when_the_detector_is_sure(text, config):
    assert text_config_detect(text) == config
