"""Encoder backends for tests: ``settings.PHOTOSEARCH_ENCODER_BACKEND`` names one by its dotted path (not a test
module)."""

from search.ml.encoders import EncoderConfig, EncoderUnavailable

UNAVAILABLE = "tests.search.encoder_backends.unavailable"


def unavailable(config: EncoderConfig):
    """A model that cannot be loaded (no weights, no network)."""
    raise EncoderUnavailable("no weights here")
