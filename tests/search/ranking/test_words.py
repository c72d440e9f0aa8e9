"""The words channel answers descriptions: a photo is a text candidate when it holds some of the query's words, ranked
by how much of the query it holds and how rare those words are; phrases and exclusions stay strict; compound hashtags
and other languages are matched. Real posts imported through the ingest service, the real SQL on the real database."""

from __future__ import annotations

import pytest

from bench.probes import photo_text_match_count
from profiles.models import Photo, Profile, SourceKind
from search.ranking.words import QueryTerm, query_words
from search.selectors import RankingOptions, photo_search
from tests.search.fake_encoder import FakeEncoder
from tests.search.posts import ingest
from tests.support.api import get_json

pytestmark = pytest.mark.django_db

MIAMI = "Miami lights and she is the brightest and prettiest one ✨ #mygirl #love #miami #southbeach #nightlife"
POSTS = {
    "miami": MIAMI,
    "beach": "Lazy sunday at the beach with the crew, sun and waves all day #beachday #summer",
    "girl": "Happy birthday to this girl, the best friend anyone could ask for 🎂 #birthday #friends",
    "street": "People walking down a rainy street in Lisbon, lights reflecting everywhere #streetphotography",
    "night": "Night out in the city, neon lights and good music #nightout #city",
    "south": "Road trip to the south, then a long walk on the beach at sunset #roadtrip",
    "phrase": "We finally made it to South Beach, what a view #travel",
    "lisboa": "Les plages de Lisbonne sont magnifiques ce matin, le soleil brille sur la plage",
    "porto": "Dia lindo na praia com os amigos, o mar estava perfeito #praia #verao",
    "menu": "Dinner at the harbour: grilled octopus, lobster and a glass of vinho verde #foodie",
    "coffee": "Morning coffee and a croissant before work #coffee #morning",
    "market": "Saturday market, flowers and fresh fruit everywhere #market #flowers",
}
TEXT_ONLY = RankingOptions(vector_weight=0, cutoff=0)


@pytest.fixture
def posts():
    profile = Profile.objects.create(source_kind=SourceKind.FOLDER, handle="posts")
    ingest(profile, POSTS)
    return profile


def by_words(query: str, **ranking) -> list[str]:
    result = photo_search(
        query=query, ranking=RankingOptions(vector_weight=0, cutoff=0, **ranking), encoder=FakeEncoder()
    )
    return [hit.photo.source_id for hit in result.hits if hit.text_rank is not None]


def test_a_description_sharing_some_words_finds_the_post_first(posts):
    assert by_words("brightest miami girl")[0] == "miami"
    assert by_words("miami beach")[0] == "miami"
    # Both also bring the photos holding only some of the words, after it.
    assert {"girl", "beach"} <= set(by_words("brightest miami girl") + by_words("miami beach"))


def test_every_word_can_still_be_required(posts):
    assert by_words("brightest miami sunset", words="all") == []
    assert by_words("brightest miami girl", words="all") == ["miami"]  # "girl" from #mygirl


def test_one_rare_word_of_a_caption_among_unrelated_words_still_finds_it(posts):
    # "octopus" is in one caption only; each of the other words is in four other posts.
    ingest(
        posts,
        {
            f"{word}{i}": f"A {word} to remember, number {i}"
            for word in ("weekend", "sunshine", "family")
            for i in range(4)
        },
        first_seed=100,
    )
    found = by_words("octopus weekend sunshine family")
    assert found[0] == "menu" and len(found) == 13


def test_a_quoted_phrase_matches_only_the_phrase(posts):
    # "South Beach" in a caption, and #southbeach (its words, in that order); not "south" … "beach" apart.
    assert sorted(by_words('"south beach"')) == ["miami", "phrase"]
    assert sorted(by_words('"south beach" sunset')) == ["miami", "phrase"]  # required; the other words only rank


def test_an_excluded_word_still_excludes(posts):
    assert "night" in by_words("night city lights")
    assert "night" not in by_words("city lights -night") and "miami" not in by_words("city lights -nightlife")


def test_a_compound_hashtag_is_found_by_its_words(posts):
    photo = Photo.objects.get(source_id="miami")
    assert {"south beach", "my girl"} <= {
        " ".join(p) for p in [photo.hashtag_words.split()[i : i + 2] for i in range(len(photo.hashtag_words.split()))]
    }
    # The three posts holding both words (miami's only through #southbeach) come before those holding one.
    assert set(by_words("south beach")[:3]) == {"phrase", "south", "miami"}
    # "my" and "at" are stop words and match nothing; miami holds "girl" only through #mygirl.
    assert "miami" in by_words("my girl at night")


def test_each_post_is_stemmed_in_its_own_language(posts):
    assert Photo.objects.get(source_id="lisboa").text_config == "french"
    assert Photo.objects.get(source_id="porto").text_config == "portuguese"
    assert Photo.objects.get(source_id="miami").text_config == "english"
    assert by_words("plages")[0] == "lisboa"  # French stemming: plages → plage, in "la plage"
    assert by_words("praias com amigo")[0] == "porto"
    assert by_words("magnifique soleil")[0] == "lisboa"


def test_an_exact_word_matches_whatever_the_stemmer_makes_of_it(posts):
    # "brille" is French; an English reading of the query still finds it through the unstemmed words.
    assert by_words("brille")[:1] == ["lisboa"]


def test_the_match_count_counts_partial_matches(posts):
    assert photo_text_match_count(query="miami beach") >= 3
    assert photo_text_match_count(query="miami beach", words="all") == 1


def test_query_words_reads_words_phrases_and_exclusions():
    parsed = query_words('"south beach" sunset -night -"rainy day" or')
    assert parsed.terms == (QueryTerm("south beach", True, True), QueryTerm("sunset", False, False))
    assert parsed.excluded == ("night", "rainy day")
    assert all(term.required for term in query_words("a b", words="all").terms)
    assert not query_words("-only -excluded")


def test_a_search_hit_carries_a_bounded_text_and_the_photo_its_whole_text(posts, live_server):
    long_text = "Zanzibar " + " ".join(f"word{i}" for i in range(2000))
    ingest(posts, {"long": long_text}, first_seed=200)

    status, body = get_json(live_server, "/api/v1/search/", q="zanzibar", words="all")
    hit = body["results"][0]
    status_photo, photo = get_json(live_server, f"/api/v1/photos/{hit['id']}/")

    assert status == status_photo == 200 and len(body["results"]) == 1
    assert len(hit["text"]) <= 1000 and hit["text"].endswith("…") and long_text.startswith(hit["text"][:-1])
    assert photo["text"] == long_text
