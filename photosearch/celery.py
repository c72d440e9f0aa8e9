"""The Celery app: tasks go to ``CELERY_BROKER_URL``, or run eagerly in the calling process when it is unset."""

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photosearch.settings")

app = Celery("photosearch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery runs even an eager task through a broker producer: without a broker URL that warns "No hostname was
# supplied" at every call, so eager mode gets the in-process transport.
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
