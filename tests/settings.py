"""Settings for the test suite: the production settings module with a tiny, seeded, random-init open_clip model.

The model variables are forced (not defaulted) so a developer's own PHOTOSEARCH_CLIP_* never leaks into a test run.
Everything else — the embedded PostgreSQL with pgvector, or DATABASE_URL if set — is the real thing.
"""

import os

os.environ["PHOTOSEARCH_CLIP_MODEL"] = "photosearch-tiny"
os.environ["PHOTOSEARCH_CLIP_PRETRAINED"] = "none"
os.environ["PHOTOSEARCH_DEVICE"] = "cpu"
# The text tower's weights: the default (what production runs); tests/search/ml/test_encoders.py tries every choice.
os.environ.pop("PHOTOSEARCH_TEXT_TOWER_PRECISION", None)
os.environ.pop("CELERY_BROKER_URL", None)
# The suite's databases are its own test databases; read replicas are tested against a standby of their own
# (tests/test_replicas.py), and a developer's replicas would hold another database's rows.
os.environ.pop("DATABASE_REPLICA_URLS", None)
# Imports do not embed on their own in tests (tests that want it turn it on).
os.environ["PHOTOSEARCH_AUTO_EMBED"] = "false"
# Reading the words in every test photo would cost 0.1–1 s each: OCR tests turn it on (tests/search/ml/test_ocr.py).
os.environ["PHOTOSEARCH_OCR"] = "none"
# Finding faces costs 0.2–1 s a photo too: the faces tests turn it on (tests/search/test_faces_stage.py).
os.environ["PHOTOSEARCH_FACES"] = "none"
# Playwright's sync API runs an event loop in the test thread; the tests' own ORM calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from photosearch.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
