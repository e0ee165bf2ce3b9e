"""EXTAPI_REQUEST_LOG and EXTAPI_REQUEST_LOG_HOURS."""

from __future__ import annotations

import pytest

from extapi.config import load_config
from extapi.errors import ConfigError


def test_the_log_is_on_for_a_week_by_default():
    config = load_config({})
    assert (config.request_log, config.request_log_hours) == (True, 168)


@pytest.mark.parametrize(
    ("value", "expected"), [("off", False), ("OFF", False), ("0", False), ("on", True)]
)
def test_the_log_can_be_switched(value, expected):
    assert load_config({"EXTAPI_REQUEST_LOG": value}).request_log is expected


def test_retention_is_read_in_hours():
    assert load_config({"EXTAPI_REQUEST_LOG_HOURS": "24"}).request_log_hours == 24


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EXTAPI_REQUEST_LOG": "sometimes"}, "EXTAPI_REQUEST_LOG must be on or off"),
        ({"EXTAPI_REQUEST_LOG_HOURS": "0"}, "EXTAPI_REQUEST_LOG_HOURS must be at least 1"),
        ({"EXTAPI_REQUEST_LOG_HOURS": "a week"}, "EXTAPI_REQUEST_LOG_HOURS must be a whole"),
    ],
)
def test_bad_values_fail_fast(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(env)
