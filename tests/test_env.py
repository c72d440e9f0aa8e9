import pytest
from django.core.exceptions import ImproperlyConfigured

from photosearch.env import env_bool, env_choice, env_float, env_int, env_list


def test_values_are_parsed_and_defaulted(monkeypatch):
    monkeypatch.setenv("PS_FLAG", "Yes")
    monkeypatch.setenv("PS_N", "12")
    monkeypatch.setenv("PS_W", "0.5")
    monkeypatch.setenv("PS_HOSTS", "a.example, b.example ,")
    monkeypatch.delenv("PS_MISSING", raising=False)

    assert env_bool("PS_FLAG") is True and env_bool("PS_MISSING", True) is True
    assert env_int("PS_N", 1, minimum=1, maximum=20) == 12 and env_int("PS_MISSING", 7) == 7
    assert env_float("PS_W", 1.0) == 0.5
    assert env_list("PS_HOSTS") == ["a.example", "b.example"]


@pytest.mark.parametrize(
    "call, value, message",
    [
        (lambda: env_bool("PS_X"), "maybe", "PS_X must be true or false"),
        (lambda: env_int("PS_X", 1), "ten", "PS_X must be an integer"),
        (lambda: env_int("PS_X", 1, minimum=1, maximum=5), "9", "PS_X must be at most 5"),
        (lambda: env_float("PS_X", 1.0, minimum=0), "-1", "PS_X must be at least 0"),
        (lambda: env_choice("PS_X", "info", ("info", "debug")), "loud", "PS_X must be one of info, debug"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch, call, value, message):
    monkeypatch.setenv("PS_X", value)
    with pytest.raises(ImproperlyConfigured, match=message):
        call()


def test_the_embedded_servers_shared_buffers_are_a_size_or_auto():
    from photosearch.settings import _embedded_shared_buffers

    assert _embedded_shared_buffers("2GB") == "2GB"
    assert 128 <= int(_embedded_shared_buffers("auto").removesuffix("MB")) <= 4096
    with pytest.raises(ImproperlyConfigured, match="PHOTOSEARCH_EMBEDDED_SHARED_BUFFERS"):
        _embedded_shared_buffers("lots")


def test_replica_urls_become_mirrored_replica_aliases_with_a_short_connect_timeout():
    from photosearch.settings import _replica_databases

    replicas = _replica_databases(
        ["postgres://u@r1/photos", "postgres://u@r2/photos?connect_timeout=9"], primary_url="postgres://u@p/photos"
    )

    assert list(replicas) == ["replica1", "replica2"]
    assert replicas["replica1"]["HOST"] == "r1" and replicas["replica1"]["REPLICA"] is True
    assert replicas["replica1"]["TEST"] == {"MIRROR": "default"}
    assert [r["OPTIONS"]["connect_timeout"] for r in replicas.values()] == [2, 9]


@pytest.mark.parametrize(
    "urls, primary, message",
    [
        (["mysql://u@r1/photos"], "postgres://u@p/photos", "entry 1 .* must point to PostgreSQL"),
        (["postgres://u@r1/photos"], "", "DATABASE_REPLICA_URLS needs DATABASE_URL"),
    ],
)
def test_replica_urls_refuse_other_engines_and_the_embedded_server(urls, primary, message):
    from photosearch.settings import _replica_databases

    with pytest.raises(ImproperlyConfigured, match=message):
        _replica_databases(urls, primary_url=primary)
