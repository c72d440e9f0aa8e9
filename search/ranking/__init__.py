"""The ranking statement and what runs it: SQL pieces (``statement``), the vector channel's plan choice
(``strategy``), per-connection HNSW settings (``session``), model instances from result rows (``loader``) and the
canonical statements checked into docs/ranking.sql (``canonical``). ``search.selectors`` is the public face."""
