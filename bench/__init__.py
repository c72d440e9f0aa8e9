"""Benchmarks and relevance evaluation: measuring the product, never part of it.

- ``index``: indexing throughput (``manage.py bench_index``);
- ``data``: clustered synthetic libraries in a database of their own, shared by the search benchmarks;
- ``search``: search latency, recall, baselines (``manage.py bench_search``); ``api``: its HTTP load through gunicorn;
- ``filters``: filtered vector search, exact scan vs iterative HNSW (``manage.py bench_filters``);
- ``labelled``, ``evaluate``, ``evaluate_synthetic``: relevance on a labelled set (``manage.py evaluate``).

The management commands only parse arguments and print; the work is here. These modules use only the public
functions of the product modules (``search.selectors``, ``search.services``, ``profiles.services`` …) and nothing in
production imports them.

Left empty of imports on purpose: gunicorn imports ``bench.api`` before Django is set up.
"""
