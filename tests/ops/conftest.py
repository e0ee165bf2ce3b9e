"""Fixtures for the operations tests: an app whose /metrics loopback may read, scraped with
the ``prometheus-client`` package's own text-format parser."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.config import Config
from extapi.runtime import Runtime, open_runtime

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
# What a scraper on this machine looks like to the app (the direct peer of the connection).
LOCAL_PEER = ("127.0.0.1", 50000)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse_metrics(text: str) -> Samples:
    """Every sample of a scrape, keyed by name and sorted labels; parsing fails loudly on a
    malformed exposition."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def sample(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist yet."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def ops_config(database_url: str) -> Config:
    return Config(database_url=database_url, secret_key="test-secret-key", metrics=LOOPBACK)


@pytest.fixture
def ops_runtime(ops_config: Config) -> Iterator[Runtime]:
    runtime = open_runtime(ops_config)
    yield runtime
    runtime.close()


@pytest.fixture
def ops_http(ops_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(ExtapiApp(ops_runtime), client=LOCAL_PEER) as client:
        yield client


@pytest.fixture
def scrape(ops_http: TestClient) -> Callable[[], Samples]:
    def read() -> Samples:
        response = ops_http.get("/metrics")
        assert response.status_code == 200, response.text
        return parse_metrics(response.text)

    return read
