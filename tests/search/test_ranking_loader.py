"""Hits from ranking rows (search.ranking.loader); the one-round-trip loading itself is tested through photo_search in
test_ranking.py."""

from search.ranking.loader import HEADLINE_OPTIONS, MARK_START, MARK_STOP, marked


def test_headlines_are_escaped_before_the_marks_become_tags():
    assert marked(f"{MARK_START}Sunset{MARK_STOP} & sea <3") == "<mark>Sunset</mark> &amp; sea &lt;3"
    assert marked(None) == "" and marked("") == ""


def test_ts_headline_is_asked_for_exactly_those_marks():
    assert f"StartSel={MARK_START}, StopSel={MARK_STOP}," in HEADLINE_OPTIONS
