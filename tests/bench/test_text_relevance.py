import json
from io import StringIO

import pytest
from django.core.management import call_command

from bench.text_relevance import (
    ALL_WORDS,
    FRENCH,
    HASHTAG,
    KINDS,
    PARTIAL,
    PORTUGUESE,
    RARE_NOISE,
    content_words,
    hashtag_only_words,
    shared_words,
    text_relevance_photos,
    text_relevance_queries,
    text_relevance_set_write,
    words_of,
)

METRICS = ("recall_at_1", "recall_at_5", "recall_at_10", "mrr")


@pytest.fixture(scope="module")
def photos():
    return text_relevance_photos(count=300)


def test_the_generator_is_deterministic_and_a_smaller_set_is_the_first_photos_of_a_larger_one(photos):
    assert text_relevance_photos(count=300) == photos
    assert text_relevance_photos(count=40) == photos[:40]
    assert text_relevance_photos(count=40, seed=1) != photos[:40]
    assert text_relevance_queries(text_relevance_photos(count=300)) == text_relevance_queries(photos)


def test_every_query_finds_its_own_photo_and_every_photo_with_the_facts_it_asks_for(photos):
    queries, kinds = text_relevance_queries(photos)
    by_id = {photo.source_id: photo for photo in photos}

    assert set(queries) == set(kinds) and len(queries) > len(photos)
    for photo in photos:
        for query in photo.queries:
            assert photo.source_id in queries[query.text]
    assert all(queries.values())
    # Relevance is by the facts, so descriptions that fit several photos name them all.
    assert sum(len(relevant) > 1 for relevant in queries.values()) > len(queries) / 4
    assert all(by_id[source_id].source_id == source_id for relevant in queries.values() for source_id in relevant)


def test_the_photos_words_look_like_posts_in_several_languages(photos):
    languages = {photo.language for photo in photos}
    assert languages == {"en", "fr", "pt", "mixed"}
    assert sum(photo.language == "en" for photo in photos) > len(photos) / 2
    assert all(len(photo.hashtags) >= 2 for photo in photos)
    assert sum(bool(photo.alt_text) for photo in photos) > len(photos) / 2
    assert any(photo.alt_text.startswith("Photo by ") and "May be an image of" in photo.alt_text for photo in photos)
    assert any("southbeach" in photo.hashtags for photo in photos)
    assert any("@" in photo.text for photo in photos)


def test_each_kind_of_query_shares_the_words_its_kind_says_with_its_photo(photos):
    seen = dict.fromkeys(KINDS, 0)
    for photo in photos:
        for query in photo.queries:
            seen[query.kind] += 1
            found, missing = shared_words(query.text, photo.words)
            if query.kind == PARTIAL:  # only SOME of its words are the photo's
                assert found and missing, (query.text, photo.text)
            elif query.kind == HASHTAG:  # a word found only inside a compound hashtag ("south beach")
                assert hashtag_only_words(query.text, photo), (query.text, photo.hashtags)
            elif query.kind == RARE_NOISE:  # one rare word of the caption plus words that are not in it
                assert len(found) == 1 and found[0] in words_of(photo.text) and len(missing) >= 2, query.text
            elif query.kind == ALL_WORDS:  # the control: every word is the caption's own
                assert not missing and set(content_words(query.text)) <= words_of(photo.text), query.text
            elif query.kind == FRENCH:
                assert photo.language == "fr"
            elif query.kind == PORTUGUESE:
                assert photo.language == "pt"
    assert all(count >= 10 for count in seen.values()), seen
    # The foreign descriptions use other inflections than the captions ("plages" for "plage", "praias" for "praia"):
    # a word the photo does not have, with the root of one it has.
    foreign = [(q, p) for p in photos for q in p.queries if q.kind in (FRENCH, PORTUGUESE)]
    assert sum(bool(shared_words(q.text, p.words)[1]) for q, p in foreign) > len(foreign) / 2
    for kind in (FRENCH, PORTUGUESE):
        inflected = [
            q.text
            for q, p in foreign
            if q.kind == kind
            and any(
                word[:5] == other[:5]
                for word in shared_words(q.text, p.words)[1]
                if len(word) >= 5
                for other in p.words
            )
        ]
        assert len(inflected) >= 5, (kind, inflected)


def test_the_set_is_a_labelled_set_of_source_records_with_their_words(tmp_path):
    labelled = text_relevance_set_write(folder=tmp_path, count=30)

    assert len(labelled.records) == 30 and all(record.image_path.is_file() for record in labelled.records)
    assert all(record.text and record.hashtags for record in labelled.records)
    assert any(record.alt_text for record in labelled.records)
    assert set(labelled.kinds) == set(labelled.queries) and labelled.note
    smaller = labelled.limited(10)
    assert smaller.kinds == {text: labelled.kinds[text] for text in smaller.queries} and smaller.note == labelled.note


@pytest.mark.django_db
def test_evaluate_text_set_reports_text_and_hybrid_per_query_kind():
    out = StringIO()

    call_command(
        "evaluate",
        "--text-set",
        "--limit",
        "30",
        "--json",
        "--no-progress",
        "--words-all",
        "--text-weights",
        "1",
        "--cutoffs",
        "0",
        stdout=out,
        stderr=StringIO(),
    )

    report = json.loads(out.getvalue())
    assert report["dataset"] == "text-relevance" and report["photos"] == 30 and report["queries"] > 30
    assert "vector channel is noise" in report["note"]
    assert {"vector", "text", "hybrid", "text words=all", "hybrid words=all"} <= set(report["channels"])
    assert set(report["kinds"]) == set(KINDS)
    rows = [report["channels"]] + list(report["kinds"].values())
    for row in rows:
        for channel in ("text", "hybrid"):
            assert all(0 <= row[channel][metric] <= 1 for metric in METRICS), row
    assert sum(row["text"]["queries"] for row in report["kinds"].values()) == report["queries"]
    assert report["kinds"][ALL_WORDS]["text"]["recall_at_10"] > 0  # the control is found by its words
