"""The ranking statement ``search.selectors`` runs: vector channel, text channel, fusion, page, built as text.

No database access (docs/ranking.sql shows what is built). User text and every number are bound parameters; only
whitelisted SQL (sort orders, the integer vector width, model column lists) is formatted in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from textwrap import indent, wrap
from typing import Any

import numpy as np
from django.conf import settings

from profiles.places import EARTH_RADIUS_KM
from search.ranking.duplicates import one_per_image
from search.ranking.highlights import HIGHLIGHT_PARAMS, matched_column, matched_join
from search.ranking.indexes import embedding_expression
from search.ranking.loader import PHOTO_LOADER, PROFILE_LOADER
from search.ranking.words import QueryWords
from search.types import Near, RankingOptions, SearchFilters

# Weight of ts_rank_cd (0–1) added to a match's share of the query's rarity: it orders photos holding the same words
# but cannot lift one over a photo holding a clearly rarer word.
CLOSENESS_WEIGHT = 0.2
# ts_rank_cd runs on this many times the text depth of the best shares only.
TEXT_SHORTLIST_FACTOR = 3
# A browse counts the photos passing its filters up to this bound; past it the total is an estimate.
TOTAL_BOUND = 10_000

KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180  # of latitude; of longitude times cos(latitude)

ORDER_BY = {
    "relevance": "fused_score DESC, photo_id",
    "newest": "taken_at DESC NULLS LAST, fused_score DESC, photo_id",
    "oldest": "taken_at ASC NULLS LAST, fused_score DESC, photo_id",
}
# OR (AND) of a set of tsqueries via their text: PostgreSQL has no such aggregate; quoted lexemes parse back the same.
_ANY_OF = "string_agg('(' || {q}::text || ')', ' | '){only}::tsquery"
_EVERY_OF = "string_agg('(' || {q}::text || ')', ' & '){only}::tsquery"
# Each query term (word or phrase) in every configuration the library's words use.
QUERY_WORDS_CTES = f"""query_terms AS MATERIALIZED (
    SELECT term.position, term.required, (
        SELECT {_ANY_OF.format(q="q", only="")}
        FROM unnest(%(configs)s::regconfig[]) AS config,
            LATERAL (SELECT CASE WHEN term.phrase THEN phraseto_tsquery(config, term.words)
                                 ELSE plainto_tsquery(config, term.words) END) AS t(q)
        WHERE numnode(q) > 0
    ) AS tsq
    FROM unnest(%(term_words)s::text[], %(term_phrases)s::boolean[], %(term_required)s::boolean[])
        WITH ORDINALITY AS term(words, phrase, required, position)
    WHERE term.phrase OR numnode(plainto_tsquery(%(query_config)s::regconfig, term.words)) > 0
),
query_match AS MATERIALIZED (
    SELECT {_ANY_OF.format(q="tsq", only="")} AS any_term,
        {_EVERY_OF.format(q="tsq", only="")} AS every_term,
        {_EVERY_OF.format(q="tsq", only=" FILTER (WHERE required)")} AS required_terms
    FROM query_terms
    WHERE tsq IS NOT NULL
),
query_excluded AS MATERIALIZED (
    SELECT {_ANY_OF.format(q="q", only="")} AS tsq
    FROM unnest(%(configs)s::regconfig[]) AS config, unnest(%(excluded)s::text[]) AS item,
        phraseto_tsquery(config, item) AS q
    WHERE numnode(q) > 0
)"""
# Drops photos holding an excluded word (tsq is NULL when every excluded item is a stop word).
NOT_EXCLUDED = "NOT COALESCE(search_vector @@ (SELECT tsq FROM query_excluded), false)"
_NO_VECTOR_HITS = "SELECT NULL::bigint AS id, NULL::timestamptz AS taken_at, NULL::float8 AS distance WHERE false"
_NO_TEXT_HITS = (
    "SELECT NULL::bigint AS id, NULL::timestamptz AS taken_at, NULL::float8 AS coverage, "
    "NULL::float8 AS score WHERE false"
)


def filter_sql(filters: SearchFilters) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions and parameters for the filters that are set; ``filters`` must be checked
    (``search.inputs.clean_filters``)."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if filters.profile_ids:
        clauses.append("profile_id = ANY(%(profile_ids)s)")
        params["profile_ids"] = list(filters.profile_ids)
    if filters.taken_from is not None:
        clauses.append("taken_at >= %(taken_from)s")
        params["taken_from"] = filters.taken_from
    if filters.taken_to is not None:
        clauses.append("taken_at < %(taken_to)s")
        params["taken_to"] = filters.taken_to
    if filters.media_type is not None:
        clauses.append("media_type = %(media_type)s")
        params["media_type"] = filters.media_type
    if filters.has_text is not None:
        clauses.append("source_text <> ''" if filters.has_text else "source_text = ''")
    if filters.country_codes:
        clauses.append("country_code <> '' AND country_code = ANY(%(country_codes)s)")  # the partial index's condition
        params["country_codes"] = list(filters.country_codes)
    if filters.cities:
        clauses.append("city = ANY(%(cities)s)")
        params["cities"] = list(filters.cities)
    if filters.regions:
        clauses.append("region = ANY(%(regions)s)")
        params["regions"] = list(filters.regions)
    if filters.near is not None:
        clause, near_params = near_sql(filters.near)
        clauses.append(clause)
        params.update(near_params)
    for index, value in enumerate(filters.hashtags):
        clauses.append(_named_sql("hashtags", f"hashtags_{index}"))
        params[f"hashtags_{index}"] = value
    # A handle: tagged (or mentioned, or the owner), or a face of the person it names.
    for index, value in enumerate(filters.people):
        clauses.append(f"({_named_sql('people', f'people_{index}')} OR {_faces_sql(handle=f'people_{index}')})")
        params[f"people_{index}"] = value
    for index, person in enumerate(filters.persons):
        arms = []
        if person.ids:
            arms.append(_faces_sql(ids=f"person_{index}_ids"))
            params[f"person_{index}_ids"] = list(person.ids)
        if person.handle:
            arms.append(_named_sql("people", f"person_{index}_handle"))
            params[f"person_{index}_handle"] = person.handle
        # A hidden person asked for by id: no arm, nothing passes.
        clauses.append("(" + " OR ".join(arms) + ")" if arms else "false")
    if filters.faces is not None:
        # Photos the faces stage has not looked at (or failed on) have no count: they pass no range, not even 0.
        most = "" if filters.faces.most is None else " AND s.face_count <= %(faces_most)s"
        clauses.append(
            "EXISTS (SELECT 1 FROM search_facescan s WHERE s.photo_id = profiles_photo.id AND s.error = ''"
            f" AND s.face_count >= %(faces_least)s{most})"
        )
        params.update(faces_least=filters.faces.least, **({} if not most else {"faces_most": filters.faces.most}))
    if filters.has_image_text is not None:
        clauses.append("ocr_text <> ''" if filters.has_image_text else "ocr_text = ''")
    return clauses, params


def _named_sql(column: str, name: str) -> str:
    # The GIN index finds the word; the space-separated column confirms it is a hashtag/handle, not a caption word.
    word = f"search_vector @@ phraseto_tsquery('simple', %({name})s)"
    return f"{word} AND position(' ' || %({name})s || ' ' IN ' ' || {column} || ' ') > 0"


def _faces_sql(*, ids: str = "", handle: str = "") -> str:
    """Photos holding a face of the persons ``ids`` (or of the person whose handle is ``handle``), hidden persons
    never: the (person, photo) index lists them once per statement, the primary key finds them."""
    which = f"f.person_id = ANY(%({ids})s)" if ids else f"pe.handle = %({handle})s"
    join = "search_face f JOIN search_person pe ON pe.id = f.person_id"
    return f"id = ANY(ARRAY(SELECT f.photo_id FROM {join} WHERE {which} AND NOT pe.hidden))"


def near_sql(near: Near) -> tuple[str, dict[str, Any]]:
    """Photos within ``near.km`` of a point: a box the (latitude, longitude) index scans, then the haversine distance.
    Where the box would wrap (poles, antimeridian) only the distance decides."""
    lat_span = near.km / KM_PER_DEGREE
    cos_lat = math.cos(math.radians(near.latitude))
    lon_span = near.km / (KM_PER_DEGREE * cos_lat) if cos_lat > 1e-6 else 360.0
    params = {
        "near_lat": near.latitude,
        "near_lon": near.longitude,
        "near_km": near.km,
        "near_lat_min": near.latitude - lat_span,
        "near_lat_max": near.latitude + lat_span,
        "near_lon_min": near.longitude - lon_span,
        "near_lon_max": near.longitude + lon_span,
    }
    box = ["latitude BETWEEN %(near_lat_min)s AND %(near_lat_max)s"]
    if near.longitude - lon_span >= -180 and near.longitude + lon_span <= 180:
        box.append("longitude BETWEEN %(near_lon_min)s AND %(near_lon_max)s")
    distance = (
        "2 * %(earth_radius_km)s * asin(least(1, sqrt("
        "power(sin(radians(latitude - %(near_lat)s) / 2), 2)"
        " + cos(radians(%(near_lat)s)) * cos(radians(latitude)) * power(sin(radians(longitude - %(near_lon)s) / 2), 2)"
        "))) <= %(near_km)s"
    )
    params["earth_radius_km"] = EARTH_RADIUS_KM
    return "(" + " AND ".join([*box, distance]) + ")", params


def vector_distance(dimensions: int) -> str:
    """Cosine distance to the query vector, over exactly the expression the model's HNSW indexes cover."""
    return f"{embedding_expression(dimensions)} <=> %(vector)s::halfvec({int(dimensions)})"


def vector_channel(
    *, dimensions: int | None, filters: list[str], strategy: str, exclude_photo: bool, excluded: bool
) -> str:
    """The ``vector_depth`` photos nearest to the query vector (none when ``dimensions`` is None)."""
    if dimensions is None:
        return _NO_VECTOR_HITS
    distance = vector_distance(dimensions)
    # "+ 0" hides the expression from the HNSW index, forcing an exact scan (search.ranking.strategy).
    order = f"({distance}) + 0" if strategy == "exact" else distance
    conditions = ["embedding_model = %(model_id)s", *(["id <> %(photo_id)s"] if exclude_photo else []), *filters]
    if excluded:
        conditions.append(NOT_EXCLUDED)
    return (
        f"SELECT id, taken_at, {distance} AS distance\n"
        "FROM profiles_photo\n"
        f"WHERE {_and(conditions)}\n"
        f"ORDER BY {order}\n"
        "LIMIT %(vector_depth)s"
    )


def text_channel(*, text: bool, filters: list[str], excluded: bool) -> str:
    """The ``text_depth`` best word matches (any query word, every required one, none excluded), ranked by their
    share of the query words' rarity (idf) plus ``CLOSENESS_WEIGHT`` × ``ts_rank_cd``.

    Bounded however broad the query: each optional word scans at most ``term_cap`` photos, one scan takes photos
    holding every required term (or every word) up to ``every_cap``, and rarity is counted within those bounds.
    """
    if not text:
        return _NO_TEXT_HITS
    conditions = ["duplicate_of_id IS NULL", *filters, *([NOT_EXCLUDED] if excluded else [])]
    scan = (
        "SELECT id, taken_at, search_vector FROM profiles_photo\n"
        "WHERE search_vector @@ {tsq}\n"
        f"  AND {_and(conditions)}\n"
        "LIMIT %(term_cap)s"
    )
    # Required terms need no scan of their own: every candidate holds them.
    optional = scan.format(tsq="t.tsq AND (q.required_terms IS NULL OR search_vector @@ q.required_terms)")
    every = scan.format(tsq="COALESCE(q.required_terms, q.every_term)").replace("%(term_cap)s", "%(every_cap)s")
    return (
        "WITH every_matches AS MATERIALIZED (\n"
        "    SELECT m.* FROM query_match q CROSS JOIN LATERAL (\n"
        f"{indent(every, ' ' * 8)}\n"
        "    ) m\n"
        "),\n"
        # Once photos holding every word fill the shortlist, the optional scans cannot change the result: skipped.
        "term_matches AS MATERIALIZED (\n"
        "    SELECT t.position, m.* FROM query_terms t, query_match q CROSS JOIN LATERAL (\n"
        f"{indent(optional, ' ' * 8)}\n"
        "    ) m WHERE t.tsq IS NOT NULL AND NOT t.required\n"
        "      AND NOT ((SELECT required_terms IS NULL FROM query_match)\n"
        "               AND (SELECT count(*) FROM every_matches) >= %(text_shortlist)s)\n"
        "    UNION ALL\n"
        "    SELECT 0, * FROM every_matches\n"
        "),\n"
        "term_counts AS (\n"
        "    SELECT position, count(*) AS matches FROM term_matches GROUP BY position\n"
        "),\n"
        "term_stats AS MATERIALIZED (\n"
        "    SELECT t.tsq, ln(1 + (GREATEST(c.reltuples, 0) + 1) / (COALESCE(n.matches, 0) + 1)) AS idf\n"
        "    FROM query_terms t LEFT JOIN term_counts n ON n.position = t.position,\n"
        "        pg_class c\n"
        "    WHERE t.tsq IS NOT NULL AND c.oid = 'profiles_photo'::regclass\n"
        "),\n"
        "candidates AS (\n"
        "    SELECT DISTINCT ON (id) id, taken_at, search_vector FROM term_matches\n"
        "),\n"
        "covered AS (\n"
        "    SELECT c.id, c.taken_at, c.search_vector,\n"
        "        (SELECT sum(s.idf) FROM term_stats s WHERE c.search_vector @@ s.tsq)\n"
        "          / (SELECT sum(idf) FROM term_stats) AS coverage\n"
        "    FROM candidates c\n"
        "),\n"
        "shortlist AS (\n"
        "    SELECT * FROM covered ORDER BY coverage DESC, id LIMIT %(text_shortlist)s\n"
        ")\n"
        "SELECT c.id, c.taken_at, c.coverage,\n"
        "    c.coverage + %(closeness_weight)s * ts_rank_cd(c.search_vector, q.any_term, 32) AS score\n"
        "FROM shortlist c, query_match q\n"
        "ORDER BY score DESC, c.id\n"
        "LIMIT %(text_depth)s"
    )


def fusion() -> str:
    """Weighted reciprocal-rank fusion with the cutoff: a vector-only hit stays while within ``cutoff`` of the best
    vector distance; a word match always stays, weighted by its coverage (0–1) of the query."""
    return (
        "SELECT COALESCE(v.id, t.id) AS photo_id, COALESCE(v.taken_at, t.taken_at) AS taken_at,\n"
        "    COALESCE(%(vector_weight)s / (%(rrf_k)s + v.rank), 0)\n"
        "      + COALESCE(%(text_weight)s * t.coverage / (%(rrf_k)s + t.rank), 0) AS fused_score,\n"
        "    v.rank AS vector_rank, v.distance AS vector_distance, t.rank AS text_rank, t.score AS text_score\n"
        "FROM vector_ranked v FULL OUTER JOIN text_ranked t ON v.id = t.id\n"
        "WHERE t.id IS NOT NULL OR %(cutoff)s <= 0\n"
        "   OR v.distance <= (SELECT min(distance) FROM vector_candidates) + %(cutoff)s"
    )


def ranking_statement(*, vector_cte: str, text_cte: str, sort: str, words: bool) -> str:
    """The channels fused, cut off, sorted and paged, each row with its photo, profile, matched words and the total
    (an estimate when a channel reached its depth).

    MATERIALIZED keeps the ORDER BY … LIMIT shape the HNSW index serves; ranks come afterwards because an iterative
    index scan may return candidates slightly out of order.
    """
    return (
        f"WITH {QUERY_WORDS_CTES + ',' + chr(10) if words else ''}vector_candidates AS MATERIALIZED (\n"
        f"{indent(vector_cte, ' ' * 4)}\n"
        "),\n"
        "vector_ranked AS (\n"
        "    SELECT id, taken_at, distance, row_number() OVER (ORDER BY distance, id) AS rank FROM vector_candidates\n"
        "),\n"
        "text_ranked AS (\n"
        "    SELECT id, taken_at, coverage, score, row_number() OVER (ORDER BY score DESC, id) AS rank FROM (\n"
        f"{indent(text_cte, ' ' * 8)}\n"
        "    ) matches\n"
        "),\n"
        "fused AS (\n"
        f"{indent(one_per_image(fusion()), ' ' * 4)}\n"
        "),\n"
        "page AS (\n"
        f"    SELECT f.*, row_number() OVER (ORDER BY {ORDER_BY[sort]}) AS position, count(*) OVER () AS total,\n"
        "        max(f.text_rank) OVER () >= %(text_depth)s OR max(f.vector_rank) OVER () >= %(vector_depth)s\n"
        "          AS total_is_estimate\n"
        "    FROM fused f\n"
        "    ORDER BY position\n"
        "    LIMIT %(limit)s OFFSET %(offset)s\n"
        ")\n"
        "SELECT page.photo_id, page.fused_score, page.vector_rank, page.vector_distance, page.text_rank,\n"
        "    page.text_score, page.total, page.total_is_estimate,\n"
        f"    {matched_column(text=words)} AS matched,\n"
        f"{_columns(PHOTO_LOADER.select('p'))},\n"
        f"{_columns(PROFILE_LOADER.select('pr'))}\n"
        "FROM page\n"
        "JOIN profiles_photo p ON p.id = page.photo_id\n"
        "JOIN profiles_profile pr ON pr.id = p.profile_id\n"
        f"{matched_join(text=words) + chr(10) if words else ''}"
        "ORDER BY page.position"
    )


def _and(conditions: list[str]) -> str:
    return "\n  AND ".join(conditions)


def _columns(select_list: str) -> str:
    # Wrapped only so that docs/ranking.sql reads well; column names hold no spaces.
    return "\n".join(
        wrap(
            select_list,
            width=116,
            initial_indent="    ",
            subsequent_indent="    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    )


def hybrid_statement(
    *,
    words: QueryWords | None,
    configs: Sequence[str],
    query_vector: np.ndarray | None,
    model_id: str | None,
    filters: SearchFilters,
    sort: str,
    limit: int,
    offset: int,
    ranking: RankingOptions,
    exclude_photo: int | None,
    strategy: str,
) -> tuple[str, dict[str, Any]]:
    """The ranking statement and its parameters for checked inputs; ``words`` is None without query text,
    ``strategy`` comes from ``search.ranking.strategy.vector_strategy``."""
    clauses, params = filter_sql(filters)
    assert ranking.vector_depth is not None and ranking.text_depth is not None  # checked: clean_ranking set them
    vector_depth = max(ranking.vector_depth, offset + limit) if query_vector is not None else 0
    text_depth = max(ranking.text_depth, offset + limit)
    excluded = bool(words and words.excluded)
    sql = ranking_statement(
        vector_cte=vector_channel(
            dimensions=None if query_vector is None else len(query_vector),
            filters=clauses,
            strategy=strategy,
            exclude_photo=bool(exclude_photo),
            excluded=excluded,
        ),
        text_cte=text_channel(text=bool(words), filters=clauses, excluded=excluded),
        sort=sort,
        words=words is not None,
    )
    if words is not None:
        params.update(
            **words_params(words, configs), **HIGHLIGHT_PARAMS, text_shortlist=TEXT_SHORTLIST_FACTOR * text_depth
        )
    params.update(
        vector=halfvec_literal(query_vector) if query_vector is not None else None,
        model_id=model_id,
        photo_id=exclude_photo,
        vector_depth=vector_depth,
        text_depth=text_depth,
        vector_weight=ranking.vector_weight,
        text_weight=ranking.text_weight,
        rrf_k=float(settings.PHOTOSEARCH_RRF_K),
        cutoff=ranking.cutoff,
        limit=limit,
        offset=offset,
    )
    return sql, params


def halfvec_literal(vector: np.ndarray) -> str:
    """``vector`` as halfvec input text, each value rounded to half precision (as stored) in its shortest exact text:
    faster to write and half the size of float64 digits (see docs/benchmarks.md, "Tuning: what was kept, what lost")."""
    return "[" + ",".join(_half_texts()[np.asarray(vector, dtype=np.float16).view(np.uint16)]) + "]"


@cache
def _half_texts() -> np.ndarray:
    # Every half bit pattern → its shortest text, which reads back as the same half (tests/search/ranking).
    halves = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    return np.array(
        [np.format_float_positional(h, unique=True, trim="-") if np.isfinite(h) else str(h) for h in halves],
        dtype=object,
    )


def words_params(words: QueryWords, configs: Sequence[str]) -> dict[str, Any]:
    """The parameters of ``QUERY_WORDS_CTES`` and the text channel."""
    return {
        "configs": list(configs),
        "query_config": words.language,
        "term_words": [term.text for term in words.terms],
        "term_phrases": [term.phrase for term in words.terms],
        "term_required": [term.required for term in words.terms],
        "excluded": list(words.excluded),
        "term_cap": settings.PHOTOSEARCH_TEXT_TERM_CAP,
        # With every term required that scan is the whole channel: ten times the cap.
        "every_cap": settings.PHOTOSEARCH_TEXT_TERM_CAP * (10 if all(term.required for term in words.terms) else 1),
        "closeness_weight": CLOSENESS_WEIGHT,
    }


def browse_sql(*, filters: list[str], sort: str) -> str:
    """One page of ids passing ``filters`` by date (``oldest`` or else newest), each row with the bounded total."""
    order = "taken_at ASC NULLS LAST, id" if sort == "oldest" else "taken_at DESC NULLS LAST, id DESC"
    conditions = " AND ".join(["duplicate_of_id IS NULL", *filters])
    return (
        f"SELECT id, ({browse_total_sql(filters=filters)}) AS total FROM profiles_photo WHERE {conditions} "
        f"ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s"
    )


def browse_total_sql(*, filters: list[str]) -> str:
    """How many photos pass ``filters``, counted up to ``total_bound`` (TOTAL_BOUND + 1: above the bound is an
    estimate), so a broad filter costs a bounded scan."""
    conditions = " AND ".join(["duplicate_of_id IS NULL", *filters])
    return f"SELECT count(*) FROM (SELECT 1 FROM profiles_photo WHERE {conditions} LIMIT %(total_bound)s) passing"
