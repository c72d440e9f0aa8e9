"""Dates in file names: instaloader's post date, and the stamps phones and apps write."""

from datetime import UTC, datetime, timedelta

import pytest

from profiles.sources.folder import file_name_date

JULY_14_10H = datetime(2019, 7, 14, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "stem",
    [
        "IMG_20190714_100000",  # Android
        "VID_20190714_100000",
        "IMG_20190714_100000_1",  # a burst's second frame
        "PXL_20190714_100000123",  # Pixel, with milliseconds
        "20190714_100000",  # Samsung
        "IMG20190714100000",  # Huawei
        "2019-07-14 10.00.00",  # Dropbox camera uploads
        "Screenshot_2019-07-14-10-00-00",
        "Screenshot_20190714-100000",
        "Screenshot 2019-07-14 at 10.00.00",  # macOS
        "signal-2019-07-14-100000",
        "signal-2019-07-14-10-00-00-123",
        "PHOTO-2019-07-14-10-00-00",  # WhatsApp export
        "photo_2019-07-14_10-00-00",  # Telegram
    ],
)
def test_phone_and_app_stamps_are_local_time(stem, settings):
    settings.TIME_ZONE = "UTC"

    assert file_name_date(stem) == (JULY_14_10H, "file_name")


def test_a_stamp_is_read_in_the_servers_time_zone(settings):
    settings.TIME_ZONE = "Asia/Tokyo"

    assert file_name_date("IMG_20190714_100000") == (datetime(2019, 7, 14, 1, 0, tzinfo=UTC), "file_name")


@pytest.mark.parametrize("stem", ["IMG-20190714-WA0001", "VID-20190714-WA0012", "2019-07-14", "2019-07-14 picnic"])
def test_a_date_alone_is_noon_local_time(stem, settings):
    settings.TIME_ZONE = "UTC"

    assert file_name_date(stem) == (datetime(2019, 7, 14, 12, 0, tzinfo=UTC), "file_name")


@pytest.mark.parametrize("stem", ["2019-07-14_10-00-00_UTC", "2019-07-14_10-00-00_UTC_3"])
def test_instaloaders_stamp_is_the_posts_date_in_utc(stem, settings):
    settings.TIME_ZONE = "Asia/Tokyo"

    assert file_name_date(stem) == (JULY_14_10H, "source")


@pytest.mark.parametrize(
    "stem",
    [
        "holiday",
        "IMG_1234",
        "DSC01234",
        "49123456789_abc123_o",
        "IMG_20191345_100000",
        "IMG_20190714_250000",
        "scan 1850-01-01",
    ],
)
def test_names_without_a_real_date_give_none(stem):
    assert file_name_date(stem) == (None, "")


def test_a_stamp_in_the_future_is_no_date():
    tomorrow_but_one = datetime.now(UTC) + timedelta(days=3)

    assert file_name_date(tomorrow_but_one.strftime("IMG_%Y%m%d_%H%M%S")) == (None, "")
