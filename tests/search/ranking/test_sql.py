"""The ranking statement as text (search.ranking.statement, no database): docs/ranking.sql is exactly what the builder
produces, so every SQL change shows in a diff; what a user types reaches PostgreSQL only as bound parameters; the
vector channel orders by exactly the expression the HNSW indexes cover; filters are conditions of both channels."""

import os
import re
import textwrap
from datetime import UTC, datetime

import numpy as np
import pytest

from search.ranking import canonical
from search.ranking.indexes import embedding_expression
from search.ranking.statement import filter_sql, hybrid_statement
from search.ranking.words import query_words
from search.types import FaceRange, Near, PersonWanted, RankingOptions, SearchFilters

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
CONFIGS = ["english", "french", "simple"]
RANKING = RankingOptions(vector_weight=1.0, text_weight=1.0, vector_depth=200, text_depth=200, cutoff=0.08)
# Text a user controls, each piece unlike anything in the statement's own SQL.
HOSTILE_QUERY = "\"zebra o'clock\" quokka'); DROP TABLE profiles_photo; -narwhal"
HOSTILE_FILTERS = SearchFilters(
    profile_ids=(7,),
    taken_from=datetime(2024, 1, 1, tzinfo=UTC),
    taken_to=datetime(2025, 1, 1, tzinfo=UTC),
    media_type="video",
    has_text=True,
    country_codes=("PT",),
    cities=("Ponta Delgada'--",),
    regions=("Açores",),
    near=Near(latitude=37.74, longitude=-25.67, km=12.5),
    hashtags=("sunset') OR true --",),
    people=("maria.silva",),
    has_image_text=False,
    persons=(PersonWanted(ids=(3, 5), handle="ana') OR true --", said="Ana"), PersonWanted(said="person 9")),
    faces=FaceRange(least=2, most=None),
)


def statement(query: str | None = "red tram", *, filters=SearchFilters(), strategy="hnsw", exclude_photo=None, **kw):
    return hybrid_statement(
        words=None if query is None else query_words(query),
        configs=CONFIGS,
        query_vector=np.zeros(512, dtype=np.float32),
        model_id="ViT-B-32/laion2b_s34b_b79k",
        filters=filters,
        sort="relevance",
        limit=21,
        offset=0,
        ranking=RANKING,
        exclude_photo=exclude_photo,
        strategy=strategy,
        **kw,
    )


def vector_cte(sql: str) -> str:
    """The vector channel: the body of the ``vector_candidates`` CTE."""
    match = re.search(r"vector_candidates AS MATERIALIZED \(\n(.*?)\n\),\nvector_ranked", sql, re.S)
    assert match, sql
    return textwrap.dedent(match[1])


def text_cte(sql: str) -> str:
    """The text channel: the body of the ``text_ranked`` CTE's subquery."""
    match = re.search(r"text_ranked AS \(\n(.*?)\n    \) matches\n\),", sql, re.S)
    assert match, sql
    return textwrap.dedent(match[1])


def conditions(sql: str) -> list[str]:
    """Each ``WHERE …`` and ``AND …`` line of ``sql``, without that word: the conditions, one a line."""
    return re.findall(r"^\s*(?:WHERE|AND) (.*)$", sql, re.M)


def test_docs_ranking_sql_is_the_builders_output():
    if os.environ.get("PHOTOSEARCH_WRITE_RANKING_SQL") == "1":
        canonical.write()
    expected = canonical.render()
    current = canonical.DOC_PATH.read_text(encoding="utf-8") if canonical.DOC_PATH.exists() else ""

    assert current == expected, (
        f"{canonical.DOC_PATH} is out of date with the ranking statement builder; regenerate it with "
        f"`{canonical.REGENERATE}` and review the diff."
    )


def test_every_placeholder_has_its_parameter_and_every_parameter_is_used():
    for query, filters, exclude_photo in [
        ("red tram", SearchFilters(), None),
        (HOSTILE_QUERY, HOSTILE_FILTERS, None),
        (None, SearchFilters(), 42),
    ]:
        sql, params = statement(query, filters=filters, exclude_photo=exclude_photo)
        assert set(PLACEHOLDER.findall(sql)) == set(params), (query, filters)


def test_what_the_user_typed_is_bound_never_written_into_the_sql():
    sql, params = statement(HOSTILE_QUERY, filters=HOSTILE_FILTERS)

    typed = ["zebra", "o'clock", "quokka", "DROP TABLE", "narwhal", "Ponta Delgada", "Açores", "sunset", "maria.silva"]
    typed += ["ana')"]
    assert [text for text in typed if text in sql] == []
    assert "'PT'" not in sql and "'video'" not in sql and "37.74" not in sql and "12.5" not in sql
    # …and the values did reach the parameters.
    assert params["term_words"] == [term.text for term in query_words(HOSTILE_QUERY).terms]
    assert params["excluded"] == ["narwhal"] and params["cities"] == ["Ponta Delgada'--"]
    assert params["hashtags_0"] == "sunset') OR true --" and params["people_0"] == "maria.silva"
    assert params["person_0_handle"] == "ana') OR true --" and params["person_0_ids"] == [3, 5]
    assert params["faces_least"] == 2 and "faces_most" not in params
    assert params["near_km"] == 12.5 and params["media_type"] == "video" and params["profile_ids"] == [7]
    # The text-search configurations and the vector are bound too, wherever the text is searched.
    assert not any(f"'{config}'" in sql for config in ("english", "french"))
    assert params["configs"] == CONFIGS and params["vector"].startswith("[0,0,")


@pytest.mark.parametrize("dimensions", [512, 768])
def test_the_vector_channel_orders_by_exactly_the_indexed_expression(dimensions):
    def channel(strategy: str) -> str:
        sql, _ = hybrid_statement(
            words=query_words("red tram"),
            configs=CONFIGS,
            query_vector=np.zeros(dimensions, dtype=np.float32),
            model_id="m",
            filters=SearchFilters(),
            sort="relevance",
            limit=21,
            offset=0,
            ranking=RANKING,
            exclude_photo=None,
            strategy=strategy,
        )
        return vector_cte(sql)

    distance = f"{embedding_expression(dimensions)} <=> %(vector)s::halfvec({dimensions})"
    hnsw, exact = channel("hnsw"), channel("exact")

    # The HNSW index (search.services.index_builds) covers embedding_expression: the planner uses it only when the
    # ORDER BY repeats it exactly, and only under the model's partial-index condition.
    assert re.search(r"^ORDER BY (.*)$", hnsw, re.M)[1] == distance
    assert "WHERE embedding_model = %(model_id)s\n" in hnsw and hnsw.endswith("LIMIT %(vector_depth)s")
    # The exact strategy hides the expression from the index (a sequential scan of the filtered rows).
    assert re.search(r"^ORDER BY (.*)$", exact, re.M)[1] == f"({distance}) + 0"


def test_every_filter_is_a_condition_of_both_channels():
    clauses, _ = filter_sql(HOSTILE_FILTERS)
    sql, _ = statement("red tram", filters=HOSTILE_FILTERS)
    vector, text = vector_cte(sql), text_cte(sql)

    assert len(clauses) == 15  # one per filter set above (two persons)
    assert [clause for clause in clauses if clause not in conditions(vector)] == []
    # Each scan of the text channel (the one for every word and the one per optional word) is filtered.
    assert [clause for clause in clauses if conditions(text).count(clause) != 2] == []


def test_without_filters_no_condition_but_the_model_and_duplicates():
    sql, _ = statement("red tram")

    filters, _ = filter_sql(HOSTILE_FILTERS)

    assert conditions(vector_cte(sql)) == ["embedding_model = %(model_id)s"]
    assert conditions(text_cte(sql)).count("duplicate_of_id IS NULL") == 2
    assert set(filters) & set(conditions(text_cte(sql))) == set()


def test_similar_photos_leave_out_the_photo_and_search_no_words():
    sql, params = statement(None, exclude_photo=42)

    assert "id <> %(photo_id)s" in conditions(vector_cte(sql)) and params["photo_id"] == 42
    assert "query_terms" not in sql and "configs" not in params
    assert "WHERE false" in text_cte(sql)  # the text channel is empty
