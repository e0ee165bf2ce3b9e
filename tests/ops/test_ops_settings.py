"""EXTAPI_METRICS and EXTAPI_LOG_FORMAT."""

from __future__ import annotations

import ipaddress

import pytest

from extapi.config import load_config
from extapi.errors import ConfigError


def test_metrics_are_off_and_logs_json_by_default():
    config = load_config({})
    assert config.metrics is None
    assert config.log_format == "json"


@pytest.mark.parametrize("value", ["off", "OFF", " Off ", ""])
def test_metrics_can_be_switched_off(value):
    assert load_config({"EXTAPI_METRICS": value}).metrics is None


def test_metrics_take_addresses_and_networks_of_both_families():
    config = load_config({"EXTAPI_METRICS": "127.0.0.1, 10.0.0.0/8,::1 ,fd00::/8,192.168.1.7/24"})
    assert config.metrics == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("fd00::/8"),
        ipaddress.ip_network("192.168.1.0/24"),
    )


@pytest.mark.parametrize(
    "value", ["on", "localhost", "127.0.0.1,", "10.0.0.0/33", "::1/129", "1.2.3.4.5", "*"]
)
def test_anything_else_fails_fast(value):
    with pytest.raises(ConfigError, match="EXTAPI_METRICS must be off or"):
        load_config({"EXTAPI_METRICS": value})


@pytest.mark.parametrize(("value", "expected"), [("json", "json"), ("TEXT", "text")])
def test_the_log_format_is_json_or_text(value, expected):
    assert load_config({"EXTAPI_LOG_FORMAT": value}).log_format == expected


def test_another_log_format_fails_fast():
    with pytest.raises(ConfigError, match="EXTAPI_LOG_FORMAT must be json or text"):
        load_config({"EXTAPI_LOG_FORMAT": "xml"})
