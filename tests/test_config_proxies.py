"""EXTAPI_TRUSTED_PROXIES: which peers may name the client in X-Forwarded-For."""

from __future__ import annotations

import pytest

from extapi.config import load_config
from extapi.errors import ConfigError


def test_no_proxy_is_trusted_by_default():
    assert load_config({}).trusted_proxies == ()


def test_proxies_are_read_comma_separated_and_normalised():
    config = load_config({"EXTAPI_TRUSTED_PROXIES": "10.0.0.1, 2001:DB8::/32,172.16.0.0/12"})
    assert config.trusted_proxies == ("10.0.0.1", "2001:db8::/32", "172.16.0.0/12")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.0.0.1/8", "EXTAPI_TRUSTED_PROXIES: '10.0.0.1/8' has host bits set"),
        ("10.0.0.1, proxy.local", "EXTAPI_TRUSTED_PROXIES: 'proxy.local' is not an IP address"),
    ],
)
def test_bad_proxy_entries_fail_fast(value, message):
    with pytest.raises(ConfigError, match=message):
        load_config({"EXTAPI_TRUSTED_PROXIES": value})
