from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmarks and relevance evaluation: their management commands (``bench_*``, ``evaluate*``). No models."""

    name = "bench"
    verbose_name = "Benchmarks"
