"""The ranking selector with controlled vectors and texts: a fake 4-d encoder whose query vectors we choose, photos
whose vectors and words we choose, the real SQL on the real database."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection
from pgvector import HalfVector

from profiles.models import Photo, Profile
from search import selectors
from search.selectors import (
    InvalidQuery,
    RankingOptions,
    SearchFilters,
    photo_search,
    photo_search_by_image,
    photo_similar,
)
from search.services.index_builds import embedding_index_ensure
from tests.conftest import image_bytes
from tests.search.encoder_backends import UNAVAILABLE
from tests.search.fake_encoder import MODEL, FakeEncoder, unit

pytestmark = pytest.mark.django_db
T0 = datetime(2024, 6, 1, 12, tzinfo=UTC)
NO_CUTOFF = RankingOptions(cutoff=0)


def direction(degrees: float) -> np.ndarray:
    """A unit vector in the x/y plane; cosine distance to (1, 0, 0, 0) is 1 - cos(degrees)."""
    radians = np.radians(degrees)
    return unit(np.cos(radians), np.sin(radians), 0, 0)


@pytest.fixture
def encoder():
    return FakeEncoder()


@pytest.fixture
def profile():
    return Profile.objects.create(source_kind="folder", handle="main")


def add(profile, name, vector=None, *, text="", caption="", days=0, media_type="image", model=MODEL):
    return Photo.objects.create(
        profile=profile,
        source_id=name,
        content_hash=name.ljust(64, "0"),
        source_text=text,
        caption=caption,
        embedding=None if vector is None else vector.tolist(),
        embedding_model=model if vector is not None else "",
        taken_at=T0 + timedelta(days=days),
        media_type=media_type,
    )


def names(result):
    return [hit.photo.source_id for hit in result.hits]


def test_fusion_puts_photos_found_by_both_channels_first(profile, encoder):
    add(profile, "near", direction(5))
    add(profile, "nearer", direction(1))
    add(profile, "words", direction(40), text="a red tram in lisbon")
    add(profile, "both", direction(3), text="red tram at night")

    result = photo_search(query="red tram", encoder=encoder, ranking=NO_CUTOFF)

    assert names(result) == ["both", "words", "nearer", "near"]
    both, words = result.hits[0], result.hits[1]
    assert (both.vector_rank, both.text_rank) == (2, 2) and both.score == pytest.approx(2 / 62)
    assert (words.vector_rank, words.text_rank) == (4, 1) and words.score == pytest.approx(1 / 64 + 1 / 61)
    assert result.hits[2].text_rank is None and result.hits[2].vector_rank == 1


def test_weights_change_the_order_as_expected(profile, encoder):
    add(profile, "looks", direction(1))
    for degrees in range(2, 10):
        add(profile, f"filler{degrees}", direction(degrees))
    add(profile, "says", direction(60), text="lighthouse")  # vector rank 10, the only text match

    def order(**weights):
        return names(photo_search(query="lighthouse", encoder=encoder, ranking=RankingOptions(cutoff=0, **weights)))

    assert order()[0] == "says"  # 1/70 + 1/61 beats 1/61
    assert order(text_weight=0)[0] == "looks" and order(text_weight=0)[-1] == "says"
    assert order(text_weight=0.1)[0] == "looks"  # 1/70 + 0.1/61 < 1/61
    assert order(vector_weight=0.5)[:2] == ["says", "looks"]


def test_the_cutoff_drops_the_tail_but_never_the_best_hit_nor_a_word_match(profile, encoder):
    add(profile, "best", direction(20))  # distance 0.060
    add(profile, "close", direction(25))  # 0.094: within 0.08 of the best
    add(profile, "far", direction(60))  # 0.5: the tail
    add(profile, "far-but-says-so", direction(80), text="harbour")

    kept = names(photo_search(query="harbour", encoder=encoder, ranking=RankingOptions(cutoff=0.08)))
    everything = names(photo_search(query="harbour", encoder=encoder, ranking=NO_CUTOFF))
    only_best = names(
        photo_search(query="nothing matches this", encoder=encoder, ranking=RankingOptions(cutoff=0.0001))
    )

    assert set(kept) == {"best", "close", "far-but-says-so"}
    assert set(everything) == {"best", "close", "far", "far-but-says-so"}
    assert only_best == ["best"]


def test_sort_by_date(profile, encoder):
    add(profile, "old", direction(1), days=-300)
    add(profile, "new", direction(30), days=0)
    add(profile, "mid", direction(10), days=-100)
    add(profile, "undated", direction(2)).__class__.objects.filter(source_id="undated").update(taken_at=None)

    newest = names(photo_search(query="x", sort="newest", encoder=encoder, ranking=NO_CUTOFF))
    oldest = names(photo_search(query="x", sort="oldest", encoder=encoder, ranking=NO_CUTOFF))

    assert newest == ["new", "mid", "old", "undated"]
    assert oldest == ["old", "mid", "new", "undated"]
    with pytest.raises(InvalidQuery, match="choose one of relevance, newest, oldest"):
        photo_search(query="x", sort="random", encoder=encoder)


def test_each_filter(profile, encoder):
    other = Profile.objects.create(source_kind="folder", handle="other")
    add(profile, "plain", direction(1), days=-10)
    add(profile, "worded", direction(2), text="snow", days=-5)
    add(profile, "video", direction(3), media_type="video", days=-1)
    add(other, "elsewhere", direction(4), days=-3)

    def run(**filters):
        return sorted(
            names(photo_search(query="snow", filters=SearchFilters(**filters), encoder=encoder, ranking=NO_CUTOFF))
        )

    assert run(profile_ids=(other.pk,)) == ["elsewhere"]
    assert run(taken_from=T0 - timedelta(days=6), taken_to=T0 - timedelta(days=2)) == ["elsewhere", "worded"]
    assert run(media_type="video") == ["video"]
    assert run(has_text=True) == ["worded"]
    assert run(has_text=False) == ["elsewhere", "plain", "video"]
    with pytest.raises(InvalidQuery, match="Unknown media type") as refused:
        run(media_type="hologram")
    assert refused.value.field == "media_type"


def test_phrases_and_exclusions(profile, encoder):
    add(profile, "phrase", direction(50), text="the old town square at dawn")
    add(profile, "scattered", direction(50), text="a square old clock in town")
    add(profile, "cats", direction(1), text="two cats on a wall")

    quoted = photo_search(query='"old town"', encoder=encoder, ranking=NO_CUTOFF)
    loose = photo_search(query="old town", encoder=encoder, ranking=NO_CUTOFF)
    excluded = photo_search(query="town -clock -cats", encoder=encoder, ranking=NO_CUTOFF)

    assert [h.photo.source_id for h in quoted.hits if h.text_rank] == ["phrase"]
    assert {h.photo.source_id for h in loose.hits if h.text_rank} == {"phrase", "scattered"}
    # "-cats" also removes the vector channel's best hit, whose words say cats.
    assert names(excluded) == ["phrase"]


def test_matched_words_are_highlighted_and_the_rest_escaped(profile, encoder):
    add(profile, "html", direction(30), text="Sunset & sea <3 over the bay")

    hit = photo_search(query="sunset", encoder=encoder, ranking=NO_CUTOFF).hits[0]

    assert hit.headline.startswith("<mark>Sunset</mark> &amp; sea &lt;3")
    assert "<3" not in hit.headline


@pytest.mark.parametrize("exact_scan_max", [20_000, 0])  # exact scan of the filtered rows / iterative HNSW scan
@pytest.mark.parametrize("depth", [25, 300])  # within the connection's ef_search / above it (SET LOCAL)
def test_a_selective_profile_filter_does_not_starve(encoder, settings, exact_scan_max, depth):
    settings.PHOTOSEARCH_EXACT_SCAN_MAX = exact_scan_max
    crowd = Profile.objects.create(source_kind="folder", handle="crowd")
    few = Profile.objects.create(source_kind="folder", handle="few")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(3000):
        # The crowd sits right on the query; the small profile's photos are far away from it.
        target, spread = (few, 0.9) if i % 100 == 0 else (crowd, 0.05)
        vector = unit(1, *(rng.normal(0, spread, 3)))
        rows.append(
            Photo(
                profile=target,
                source_id=f"p{i}",
                content_hash=f"{i:064}",
                embedding=vector.tolist(),
                embedding_model=MODEL,
            )
        )
    Photo.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE profiles_photo")
    embedding_index_ensure(model_id=MODEL, dimensions=4)

    result = photo_search(
        query="x",
        filters=SearchFilters(profile_ids=(few.pk,)),
        limit=25,
        encoder=encoder,
        ranking=RankingOptions(cutoff=0, vector_depth=depth),
    )

    assert len(result.hits) == 25  # 30 photos of that profile exist; the 2,970 nearer ones are filtered out
    assert {hit.photo.profile_id for hit in result.hits} == {few.pk}


def test_a_search_is_one_round_trip_with_photos_and_profiles_loaded(profile, encoder, django_assert_num_queries):
    add(profile, "sea", unit(1, 0, 0, 0), text="sea", caption="waves")
    add(profile, "hill", unit(0, 1, 0, 0), text="hill")
    photo_search(query="sea", encoder=encoder)  # the first search also probes the embedding coverage (cached)

    # The statement, then the page's images in other profiles (``also_in``: search.ranking.duplicates).
    with django_assert_num_queries(2):
        result = photo_search(query="sea", encoder=encoder, ranking=NO_CUTOFF)
        hits = {hit.photo.source_id: hit for hit in result.hits}
        assert hits["sea"].photo.profile.handle == "main" and hits["sea"].photo.caption == "waves"
        assert hits["sea"].photo.taken_at == T0 and hits["sea"].photo.extra == {}

    stored = Photo.objects.get(source_id="sea")
    assert hits["sea"].photo == stored and hits["sea"].photo.embedding_model == MODEL
    assert list(hits["sea"].photo.embedding) == pytest.approx(list(stored.embedding))  # deferred, loaded on use


def test_pages_follow_each_other_without_overlap(profile, encoder):
    for i in range(7):
        add(profile, f"p{i}", direction(i + 1))

    first = photo_search(query="x", limit=3, encoder=encoder, ranking=NO_CUTOFF)
    second = photo_search(query="x", limit=3, offset=first.next_offset, encoder=encoder, ranking=NO_CUTOFF)
    last = photo_search(query="x", limit=3, offset=second.next_offset, encoder=encoder, ranking=NO_CUTOFF)

    assert names(first) + names(second) + names(last) == [f"p{i}" for i in range(7)]
    assert (first.has_more, second.has_more, last.has_more, last.next_offset) == (True, True, False, None)


def test_a_repeated_query_skips_the_text_tower(profile, encoder):
    add(profile, "a", direction(1))

    photo_search(query="Dog  on a beach", encoder=encoder)
    photo_search(query="dog on a BEACH", encoder=encoder, offset=0, sort="newest")

    assert encoder.text_calls == 1


@pytest.mark.parametrize(
    "ranking, message",
    [
        (RankingOptions(vector_weight=11), "vector_weight must be between 0 and 10"),
        (RankingOptions(text_depth=0), "text_depth must be between 1 and 1000"),
        (RankingOptions(cutoff=-1), "cutoff must be between 0 and 2"),
    ],
)
def test_ranking_overrides_are_kept_within_limits(encoder, ranking, message):
    with pytest.raises(InvalidQuery, match=message):
        photo_search(query="x", ranking=ranking, encoder=encoder)


def test_search_by_image_and_similar_use_the_vector_channel_with_filters(profile, encoder):
    add(profile, "same", unit(1, 0, 0, 0), media_type="video")
    add(profile, "close", direction(10))
    add(profile, "far", direction(80))

    by_image = photo_search_by_image(data=image_bytes(1), encoder=encoder, ranking=NO_CUTOFF)
    videos = photo_search_by_image(data=image_bytes(1), encoder=encoder, filters=SearchFilters(media_type="video"))
    similar = photo_similar(photo=Photo.objects.get(source_id="same"), limit=1)

    assert names(by_image) == ["same", "close", "far"] and by_image.hits[0].text_rank is None
    assert names(videos) == ["same"]
    assert names(similar) == ["close"] and similar.has_more


@pytest.mark.parametrize("data", [b"", b"not an image", image_bytes(1)[:200]])
def test_a_bad_upload_is_an_invalid_query(encoder, data):
    with pytest.raises(InvalidQuery):
        photo_search_by_image(data=data, encoder=encoder)


def test_search_by_image_without_a_model_says_why_instead_of_failing(settings):
    settings.PHOTOSEARCH_ENCODER_BACKEND = UNAVAILABLE

    result = photo_search_by_image(data=image_bytes(1))

    assert result.hits == [] and "no weights here" in result.warnings[0]


def test_browsing_lists_a_profiles_photos_by_date_without_duplicates(profile, encoder):
    other = Profile.objects.create(source_kind="folder", handle="other")
    add(profile, "old", days=-10)
    add(profile, "new", days=0)
    original = add(profile, "mid", days=-5)
    Photo.objects.filter(pk=add(profile, "repost", days=-1).pk).update(duplicate_of=original)
    add(other, "elsewhere", days=-2)

    newest = selectors.photo_browse(filters=SearchFilters(profile_ids=(profile.pk,)), limit=2)
    oldest = selectors.photo_browse(filters=SearchFilters(profile_ids=(profile.pk,)), sort="oldest")

    assert names(newest) == ["new", "mid"] and newest.has_more and newest.next_offset == 2
    assert names(oldest) == ["old", "mid", "new"]


def _text_plan(query: str, *, limit: int) -> tuple[str, list[int]]:
    """EXPLAIN ANALYZE of the words-only statement for ``query``, and the ranked ids it returns."""
    from search.ranking.session import run_ranked
    from search.selectors import _statement, clean_filters, clean_query, clean_ranking, query_words

    sql, params = _statement(
        words=query_words(clean_query(query)),
        query_vector=None,
        model_id=MODEL,
        filters=clean_filters(SearchFilters()),
        sort="relevance",
        limit=limit,
        offset=0,
        ranking=clean_ranking(RankingOptions(cutoff=0, text_depth=limit)),
        exclude_photo=None,
        using="default",
    )
    plan = "\n".join(
        row[0] for row in run_ranked("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params, vector_depth=0, using="default")
    )
    return plan, [row[0] for row in run_ranked(sql, params, vector_depth=0, using="default")]


@pytest.mark.parametrize("planner", ["as is", "bitmap scans"])  # the plan a big table's statistics give
def test_optional_word_scans_are_skipped_only_when_photos_holding_every_word_fill_the_shortlist(profile, planner):
    if planner == "bitmap scans":
        with connection.cursor() as cursor:  # for the test's transaction only
            cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
    # text depth 2 → a shortlist of 6 (TEXT_SHORTLIST_FACTOR).
    both = [add(profile, f"both{i}", text="harbour crane").pk for i in range(5)]
    add(profile, "crane", text="crane at dusk")
    add(profile, "harbour", text="harbour")

    plan, ranked = _text_plan("harbour crane", limit=2)
    assert plan.count("(never executed)") == 0  # 5 photos hold both words: the single words may still rank
    assert set(ranked) <= set(both)

    both.append(add(profile, "both5", text="harbour crane").pk)
    plan, ranked = _text_plan("harbour crane", limit=2)
    optional_scan = plan[plan.index("CTE term_matches") : plan.index("CTE term_stats")]
    assert "One-Time Filter" in optional_scan
    # The optional words' scan (whichever plan the statistics give it: its nodes name the table or its indexes):
    # planned, never run.
    scan = [line for line in optional_scan.splitlines() if "Scan" in line and " on profiles_photo" in line]
    assert scan and all("(never executed)" in line for line in scan)
    if planner == "bitmap scans":
        assert "Bitmap Heap Scan" in optional_scan
    assert set(ranked) <= set(both)

    # A required phrase with an optional word: photos holding the phrase alone do not hold every term, so the
    # optional word's scan still runs however many they are.
    for i in range(6):
        add(profile, f"phrase{i}", text="harbour crane")
    add(profile, "dusk", text="harbour crane at dusk")
    plan, ranked = _text_plan('"harbour crane" dusk', limit=2)
    optional_scan = plan[plan.index("CTE term_matches") : plan.index("CTE term_stats")]
    scan = [line for line in optional_scan.splitlines() if "Scan" in line and " on profiles_photo" in line]
    assert scan and not any("(never executed)" in line for line in scan)
    assert ranked[0] == Photo.objects.get(source_id="dusk").pk


def test_every_half_precision_value_travels_as_text_to_the_same_halfvec_value():
    from search.ranking.statement import halfvec_literal

    halves = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    finite = halves[np.isfinite(halves)]  # 63,488 values; pgvector refuses NaN and infinity
    with connection.cursor() as cursor:
        for chunk in np.array_split(finite, 4):  # a halfvec holds at most 16,000 dimensions
            cursor.execute("SELECT %s::halfvec::text", [halfvec_literal(chunk)])
            # PostgreSQL writes each back as the shortest float4 text, which numpy reads exactly.
            stored = np.array(cursor.fetchone()[0][1:-1].split(","), dtype=np.float32).astype(np.float16)
            assert (stored.view(np.uint16) == chunk.view(np.uint16)).all()  # bit for bit, -0 included


def test_a_query_vector_is_written_short_and_as_the_column_would_store_it():
    from search.ranking.statement import halfvec_literal

    vector = np.random.default_rng(3).normal(size=512).astype(np.float32)
    vector /= np.linalg.norm(vector)

    text = halfvec_literal(vector)

    assert len(text) < 5_000 and text.startswith("[") and text.endswith("]")
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::halfvec = %s::halfvec", [text, HalfVector(vector).to_text()])
        assert cursor.fetchone() == (True,)
