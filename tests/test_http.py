"""The hot path's HTTP helpers (extapi.http)."""

from __future__ import annotations

from extapi.http import site_address


def _scope(host: bytes | None, scheme: str = "http") -> dict[str, object]:
    headers = [] if host is None else [(b"host", host)]
    return {"type": "http", "scheme": scheme, "headers": headers}


def test_site_address_is_the_scheme_and_host_the_client_used():
    # given requests to two hosts over two schemes, each asked twice (the second answer comes
    # from the remembered ones)
    for _ in range(2):
        # then each gets its own address
        assert site_address(_scope(b"api.example.com:8443", "https")) == (
            "https://api.example.com:8443"
        )
        assert site_address(_scope(b"[::1]:8000")) == "http://[::1]:8000"
        assert site_address(_scope(b"api.example.com")) == "http://api.example.com"


def test_a_malformed_host_header_gives_localhost_every_time():
    # given a Host header that tries to inject a path, asked twice, and no Host header at all
    for _ in range(2):
        # then the address falls back to localhost
        assert site_address(_scope(b"evil.example/<script>")) == "http://localhost"
        assert site_address(_scope(None)) == "http://localhost"
