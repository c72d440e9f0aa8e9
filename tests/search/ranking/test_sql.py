"""docs/ranking.sql is exactly what the statement builder produces, so every SQL change shows in a diff."""

import os

from search.ranking import canonical


def test_docs_ranking_sql_is_the_builders_output():
    if os.environ.get("PHOTOSEARCH_WRITE_RANKING_SQL") == "1":
        canonical.write()
    expected = canonical.render()
    current = canonical.DOC_PATH.read_text(encoding="utf-8") if canonical.DOC_PATH.exists() else ""

    assert current == expected, (
        f"{canonical.DOC_PATH} is out of date with the ranking statement builder; regenerate it with "
        f"`{canonical.REGENERATE}` and review the diff."
    )


def test_the_statement_binds_every_value():
    for name, _description, sql, params in canonical.canonical_statements():
        assert "english" not in sql and "StartSel" not in sql
        assert ("configs" in params) == (name != "similar")  # the configurations are bound wherever text is searched
