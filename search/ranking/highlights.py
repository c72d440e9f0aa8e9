"""Why a page row matched by words: the photo's fields where the query's words were found, each with its matches marked,
so that a match is never one nobody can see. Each field is tested and marked in the configuration that indexed it,
for the page's rows only (ts_headline re-parses the text).
"""

from __future__ import annotations

import html
import json
from typing import Any

from profiles.models import EXACT_WORDS_CONFIG, IMAGE_TEXT_WEIGHT, TEXT_SEARCH_CONFIG, Photo
from profiles.words import compound_split

# ts_headline marks matches with these; the snippet is HTML-escaped first, then they become <mark> tags. Control
# characters, because user text cannot contain them (search.inputs refuses queries that do).
MARK_START, MARK_STOP = "\x02", "\x03"
HEADLINE_OPTIONS = f"StartSel={MARK_START}, StopSel={MARK_STOP}, MaxWords=24, MinWords=8, MaxFragments=2"
HIGHLIGHT_PARAMS = {
    "headline_options": HEADLINE_OPTIONS,
    "mark_start": MARK_START,
    "caption_config": TEXT_SEARCH_CONFIG,
    "exact_config": EXACT_WORDS_CONFIG,
}
# Where words can match, in the order a hit shows them; the first three are snippets of text, the others the
# photo's place, people and hashtags with the matching ones marked.
MATCH_FIELDS = ("text", "caption", "image_text", "place", "people", "hashtags")
SNIPPET_FIELDS = MATCH_FIELDS[:3]


def matched_join(*, text: bool) -> str:
    """The join that adds a page row's ``why.matched``: a JSON object of the fields its words matched in — ``text``,
    ``caption``, ``image_text`` (each a marked snippet), ``place`` (the place's names that match), ``people``,
    ``hashtags`` and ``hashtag_words`` (the matching ones); a field without a match is left out. NULL for a row the
    words channel did not find; no join without query text (``matched_column`` is then NULL).

    A lateral join rather than subqueries in the select list: each snippet is made once (``OFFSET 0`` keeps the
    planner from copying its expression into every use), and the re-made one in the unstemmed configuration only
    when the first marks nothing."""
    if not text:
        return ""
    assert IMAGE_TEXT_WEIGHT in "ABCD"  # a constant of the models, formatted in as a literal
    both = "(to_tsvector(p.text_config, {0}) || to_tsvector(%(exact_config)s::regconfig, {0}))"
    exact = "to_tsvector(%(exact_config)s::regconfig, {0})"
    own = "concat_ws(' · ', NULLIF(p.source_text, ''), NULLIF(p.alt_text, ''))"
    options = "w.q, %(headline_options)s"

    def unstemmed_unless_marked(snippet: str, field: str) -> str:
        return (
            f"CASE WHEN {snippet} IS NULL OR strpos({snippet}, %(mark_start)s) > 0 THEN {snippet}\n"
            f"            ELSE ts_headline(%(exact_config)s::regconfig, {field}, {options}) END"
        )

    def items(values: str, vector: str) -> str:
        return (
            f"(SELECT jsonb_agg(item) FROM unnest({values}) item\n"
            f"            WHERE item <> '' AND {vector.format('item')} @@ w.q)"
        )

    fields = {
        "text": unstemmed_unless_marked("h.text", own),
        "caption": "h.caption",
        "image_text": unstemmed_unless_marked("h.image_text", "p.ocr_text"),
        "place": items("ARRAY[p.place_name, p.city, p.region, p.country]", exact),
        "people": items("string_to_array(p.people, ' ')", exact),
        "hashtags": items("string_to_array(p.hashtags, ' ')", both),
        "hashtag_words": items("string_to_array(p.hashtag_words, ' ')", both),
    }
    pairs = ",\n".join(f"        '{name}', {sql}" for name, sql in fields.items())
    return (
        "LEFT JOIN LATERAL (\n"
        "    SELECT jsonb_strip_nulls(jsonb_build_object(\n"
        f"{pairs}\n"
        "    )) AS matched\n"
        "    FROM (SELECT any_term AS q FROM query_match) w, LATERAL (\n"
        f"        SELECT CASE WHEN {both.format(own)} @@ w.q\n"
        f"                THEN ts_headline(p.text_config, {own}, {options}) END AS text,\n"
        "            CASE WHEN to_tsvector(%(caption_config)s::regconfig, p.caption) @@ w.q\n"
        f"                THEN ts_headline(%(caption_config)s::regconfig, p.caption, {options}) END AS caption,\n"
        # Weight D holds nothing but the words read in the image: that match needs no re-parse.
        f"            CASE WHEN ts_filter(p.search_vector, '{{{IMAGE_TEXT_WEIGHT}}}') @@ w.q\n"
        f"                THEN ts_headline(p.text_config, p.ocr_text, {options}) END AS image_text\n"
        "        OFFSET 0\n"
        "    ) h\n"
        "    WHERE page.text_rank IS NOT NULL\n"
        ") why ON true"
    )


def matched_column(*, text: bool) -> str:
    """The select-list expression of ``matched_join``'s JSON object."""
    return "why.matched" if text else "NULL"


def matched_from(value: str | dict[str, Any] | None, *, photo: Photo) -> dict[str, str]:
    """What ``matched_where`` found for ``photo``, as HTML-safe strings with the matches in ``<mark>``, by field
    (``MATCH_FIELDS`` order; only the fields that matched)."""
    if not value:
        return {}
    found = json.loads(value) if isinstance(value, str) else value
    matched: dict[str, str] = {}
    for name in SNIPPET_FIELDS:
        if found.get(name):
            matched[name] = marked(found[name])
    if names := found.get("place"):
        matched["place"] = _marked_names(photo.place, names)
    if people := set(found.get("people") or ()):
        matched["people"] = " ".join(_marked("@" + person, person in people) for person in photo.people_list)
    tags, words = set(found.get("hashtags") or ()), set(found.get("hashtag_words") or ())
    if tags or words:
        matched["hashtags"] = " ".join(
            _marked("#" + tag, tag in tags or bool(words & set(compound_split(tag)))) for tag in photo.hashtag_list
        )
    return matched


def marked(headline: str | None) -> str:
    """A ts_headline snippet as safe HTML, matches in ``<mark>``."""
    if not headline:
        return ""
    return html.escape(headline).replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>")


def _marked(text: str, mark: bool) -> str:
    return f"<mark>{html.escape(text)}</mark>" if mark else html.escape(text)


def _marked_names(place: str, names: list[str]) -> str:
    """``place`` (as the photo shows it: names joined by ", ") with each matching name marked; when the match is a
    name the shown place leaves out (a region named like its town), the whole place."""
    wanted = {name.casefold() for name in names}
    parts = place.split(", ")
    if not any(part.casefold() in wanted for part in parts):
        return _marked(place, True)
    return ", ".join(_marked(part, part.casefold() in wanted) for part in parts)
