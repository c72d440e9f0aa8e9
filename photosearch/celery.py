"""The Celery app. With ``CELERY_BROKER_URL`` set, tasks go to that broker (Redis in compose.yaml); unset, they run
eagerly in the calling process, which is what a single-machine install without a broker wants."""

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosearch.settings")

app = Celery("photosearch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery ≥ 5.5 runs an eager task through a producer of the broker's (to serialise its arguments as a worker would
# receive them): without a broker URL that is an AMQP connection to nobody, which warns "No hostname was supplied" at
# every call. Eager mode gets the in-process transport instead, so that producer is real and nothing is logged.
EAGER_BROKER_URL = "memory://localhost/"


@app.on_after_configure.connect
def _eager_broker(sender: Celery, source: Any, **_kwargs: Any) -> None:
    if source.task_always_eager and not source.broker_url:
        source.broker_url = EAGER_BROKER_URL


logger = logging.getLogger("photosearch.celery")
_eager_reported = False


def _report_eager_once(**_kwargs: Any) -> None:
    global _eager_reported
    if app.conf.task_always_eager and not _eager_reported:
        _eager_reported = True
        logger.info("CELERY_BROKER_URL is not set: background tasks run in-process (eager mode).")


before_task_publish.connect(_report_eager_once, weak=False)
task_prerun.connect(_report_eager_once, weak=False)
