"""The query parser (search.query.parser): the labelled set as a whole, then one rule at a time."""

from __future__ import annotations

from datetime import date

import pytest

from bench.query_parser import query_parser_evaluate, query_set_load
from search.inputs import place_folded
from search.query.parser import PlaceName, Vocabulary, fold, query_parse

TODAY = date(2025, 3, 15)
LISBON = PlaceName("Lisbon", "city", "Portugal", "PT", 38.7)
SYDNEY = PlaceName("Sydney", "city", "Australia", "AU", -33.9)
VOCABULARY = Vocabulary.from_names(
    places=[
        LISBON,
        SYDNEY,
        PlaceName("Paris", "city", "France", "FR", 48.9),
        PlaceName("New York", "city", "United States", "US", 40.7),
        PlaceName("Rome", "city", "Italy", "IT", 41.9),
        PlaceName("France", "country", "France", "FR", 46.6),
    ],
    profiles=["NatGeo"],
    aliases={"Lisbon": ["Lisbonne"]},
)


def parse(query: str):
    parsed = query_parse(query, vocabulary=VOCABULARY, today=TODAY)
    return parsed.description, [(part.kind, part.text, part.value) for part in parsed.understood]


def test_the_shipped_set_parses_at_least_95_percent_exactly_and_no_trap_becomes_a_filter():
    figures = query_parser_evaluate(**query_set_load())
    assert figures["queries"] >= 150 and figures["traps"] >= 40
    assert figures["exact"] >= 0.95, figures["misses"]
    assert figures["traps_filtered"] == 0, [m for m in figures["misses"] if not m["expected"]["understood"]]


def test_the_issue_examples_split_into_description_and_parts():
    assert parse("sunset at the beach in lisbon last summer") == (
        "sunset at the beach",
        [("place", "in lisbon", "Lisbon, Portugal"), ("date", "last summer", "2024-06-01/2024-08-31")],
    )
    assert parse("@maria birthday 2019") == (
        "birthday",
        [("person", "@maria", "maria"), ("date", "2019", "2019-01-01/2019-12-31")],
    )
    assert parse("#travel videos from natgeo") == (
        "",
        [("hashtag", "#travel", "travel"), ("media_type", "videos", "video"), ("profile", "from natgeo", "natgeo")],
    )
    assert parse("la tour eiffel en 2018") == ("la tour eiffel", [("date", "en 2018", "2018-01-01/2018-12-31")])


def test_a_date_part_carries_its_days_and_a_place_part_its_place():
    parsed = query_parse("beach in lisbon in june 2019", vocabulary=VOCABULARY, today=TODAY)
    place, when = parsed.understood
    assert place.place == LISBON
    assert (when.date_from, when.date_to) == (date(2019, 6, 1), date(2019, 6, 30))


@pytest.mark.parametrize(
    "query",
    [
        "summer dress",
        "paris hilton",
        "1984 the novel",
        "route 66",
        "4th of july fireworks",
        "new york style pizza",
        "may flowers",
        "march of the penguins",
        "the fall of rome",
        "spring rolls",
        "winter coat",
        "sunday brunch",
        "sat on the beach",
        "this may be it",
        "photos de juin",
        "video game",
        "#1 dad",
        "natgeo",
        "tour de france",
    ],
)
def test_traps_stay_words(query):
    assert parse(query) == (query, [])


@pytest.mark.parametrize(
    "query, description",
    [
        ('beach in "lisbon" 2019', 'beach in "lisbon"'),
        ("beach “in lisbon” 2019", "beach “in lisbon”"),
        ('"@maria" "#travel" 2019', '"@maria" "#travel"'),
        ('"videos" 2019', '"videos"'),
    ],
)
def test_quoting_a_part_undoes_it_and_the_rest_parses_the_same(query, description):
    assert parse(query) == (description, [("date", "2019", "2019-01-01/2019-12-31")])


def test_quoting_a_date_keeps_it_words():
    assert parse('"last summer" in lisbon') == ('"last summer"', [("place", "in lisbon", "Lisbon, Portugal")])


def test_excluded_words_are_never_parsed():
    assert parse("-lisbon -2019 beach") == ("-lisbon -2019 beach", [])


def test_a_place_needs_a_connecting_word_or_the_end_of_the_query():
    assert parse("paris street at night") == ("paris street at night", [])
    assert parse("street at night in paris")[1] == [("place", "in paris", "Paris, France")]
    assert parse("street at night paris")[1] == [("place", "paris", "Paris, France")]


def test_a_place_after_of_or_de_stays_a_word():
    assert parse("the streets of paris") == ("the streets of paris", [])


def test_place_names_ignore_accents_case_and_know_their_aliases():
    assert parse("À LISBONNE")[1] == [("place", "À LISBONNE", "Lisbon, Portugal")]
    assert parse("in New  York")[1] == [("place", "in New  York", "New York, United States")]


def test_seasons_follow_the_hemisphere_of_the_place():
    assert parse("last summer in sydney")[1][0] == ("date", "last summer", "2024-12-01/2025-02-28")
    assert parse("sydney in autumn")[1][1] == ("date", "in autumn", "2025-03-01/2025-05-31")


def test_a_season_with_a_year_is_the_one_beginning_that_year():
    assert parse("winter 2019")[1] == [("date", "winter 2019", "2019-12-01/2020-02-29")]


def test_a_month_without_a_year_is_the_latest_one_begun_and_last_the_latest_ended():
    assert parse("in march")[1] == [("date", "in march", "2025-03-01/2025-03-31")]
    assert parse("in june")[1] == [("date", "in june", "2024-06-01/2024-06-30")]
    assert parse("last march")[1] == [("date", "last march", "2024-03-01/2024-03-31")]


def test_relative_dates_count_from_today_in_english_and_french():
    assert parse("yesterday")[1] == [("date", "yesterday", "2025-03-14/2025-03-14")]
    assert parse("la semaine dernière")[1] == [("date", "la semaine dernière", "2025-03-03/2025-03-09")]
    assert parse("il y a 2 ans")[1] == [("date", "il y a 2 ans", "2023-01-01/2023-12-31")]


def test_relative_phrases_are_found_by_their_first_word_as_by_trying_each(monkeypatch):
    from search.query import dates as query_dates

    relatives = query_dates._relatives()
    queries = [phrase for _keys, phrase, _language in relatives]
    queries += [f"beach {phrase} in lisbon" for phrase in queries[::7]] + ["from last week to yesterday"]
    indexed = [parse(query) for query in queries]

    class EveryRelative(dict):  # the scan before the index: every phrase tried at every token
        def get(self, key, default=None):
            return relatives

    monkeypatch.setattr(query_dates, "_relatives_from", lambda: EveryRelative())
    assert [parse(query) for query in queries] == indexed
    assert sum(1 for _description, parts in indexed if parts) >= len(relatives) // 2


@pytest.mark.parametrize("query", ["between may and july 2021", "entre mai et juillet 2021"])
def test_a_month_in_a_range_takes_the_other_ends_year(query):
    assert parse(query)[1] == [("date", query, "2021-05-01/2021-07-31")]


@pytest.mark.parametrize("query", ["2018-2020", "from 2018 to 2020", "de 2018 à 2020", "between 2018 and 2020"])
def test_joined_years_are_a_range(query):
    assert parse(query)[1] == [("date", query, "2018-01-01/2020-12-31")]


def test_a_second_date_not_joined_stays_words():
    assert parse("summer 2019 or 2020") == ("or 2020", [("date", "summer 2019", "2019-06-01/2019-08-31")])


def test_a_day_without_a_year_is_a_holiday_not_a_date():
    assert parse("le 14 juillet") == ("le 14 juillet", [])
    assert parse("le 14 juillet 2019")[1] == [("date", "le 14 juillet 2019", "2019-07-14/2019-07-14")]


def test_a_future_year_stays_a_word():
    assert parse("blade runner 2049") == ("blade runner 2049", [])


def test_an_at_handle_is_the_profile_when_one_has_it_else_a_person():
    assert parse("@natgeo")[1] == [("profile", "@natgeo", "natgeo")]
    assert parse("with @Maria")[1] == [("person", "with @Maria", "maria")]


def test_people_and_hashtags_may_be_several_and_are_lower_case():
    assert parse("#Sunset #beach @ana @joao")[1] == [
        ("hashtag", "#Sunset", "sunset"),
        ("hashtag", "#beach", "beach"),
        ("person", "@ana", "ana"),
        ("person", "@joao", "joao"),
    ]


def test_text_in_the_image_is_asked_in_words():
    assert parse("panneau avec du texte") == ("panneau", [("has_text", "avec du texte", "image")])


def test_fold_matches_the_place_filters_folding():
    for name in ("São  Paulo", "Zürich", "ÎLE-de-France", "Kraków"):
        assert fold(name) == place_folded(name)
