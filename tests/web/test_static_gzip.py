"""Static files are sent gzip-compressed to clients that accept it (the editor bundle first)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from extapi.web.state import STATIC_DIR
from extapi.web.static_files import CompressedStaticFiles, accepts_gzip

BUNDLE = "/static/vendor/editor/editor.js"
BUNDLE_FILE = Path(STATIC_DIR) / "vendor" / "editor" / "editor.js"


def _raw(client: TestClient, path: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    """Status, headers and the body as sent (httpx would otherwise decompress it)."""
    with client.stream("GET", path, headers=headers) as response:
        return response.status_code, dict(response.headers), b"".join(response.iter_raw())


def test_the_editor_bundle_goes_compressed_to_a_browser_that_accepts_gzip(anonymous):
    # given a browser that accepts gzip, as every browser does
    # when it asks for the explorer's editor bundle
    status, headers, body = _raw(anonymous, BUNDLE, {"accept-encoding": "gzip, deflate, br"})
    # then the bundle comes compressed, to under a third of its size, and unpacks to the file
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert int(headers["content-length"]) == len(body)
    assert len(body) * 3 < BUNDLE_FILE.stat().st_size
    assert gzip.decompress(body) == BUNDLE_FILE.read_bytes()
    assert headers["content-type"].startswith("text/javascript")
    # and the security headers of static files are still there
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "accept",
    ["", "identity", "gzip;q=0", "br", "*;q=0", "gzip;q=zero", "gzip" + ", x" * 600],
)
def test_a_client_that_does_not_accept_gzip_gets_the_file_as_it_is(anonymous, accept):
    # given a client whose Accept-Encoding leaves gzip out (or cannot be read)
    status, headers, body = _raw(anonymous, BUNDLE, {"accept-encoding": accept})
    # then it gets the plain file, marked as varying with Accept-Encoding
    assert status == 200
    assert "content-encoding" not in headers
    assert headers["vary"] == "Accept-Encoding"
    assert body == BUNDLE_FILE.read_bytes()


def test_the_compressed_answer_has_its_own_etag_and_answers_conditional_requests(anonymous):
    # given the plain and the compressed bundle, each with its ETag
    _, plain, _ = _raw(anonymous, BUNDLE, {"accept-encoding": "identity"})
    _, packed, _ = _raw(anonymous, BUNDLE, {"accept-encoding": "gzip"})
    assert packed["etag"] != plain["etag"]
    # when a browser asks again with the compressed copy's ETag
    status, headers, body = _raw(
        anonymous, BUNDLE, {"accept-encoding": "gzip", "if-none-match": packed["etag"]}
    )
    # then the answer is 304, with no body
    assert status == 304 and body == b""
    assert headers["etag"] == packed["etag"]
    # and a copy from before the file's last change is sent again
    status, _, body = _raw(
        anonymous,
        BUNDLE,
        {"accept-encoding": "gzip", "if-modified-since": "Mon, 01 Jan 1990 00:00:00 GMT"},
    )
    assert status == 200 and gzip.decompress(body) == BUNDLE_FILE.read_bytes()


def test_a_range_request_gets_plain_bytes(anonymous):
    status, headers, body = _raw(
        anonymous, BUNDLE, {"accept-encoding": "gzip", "range": "bytes=0-99"}
    )
    assert status == 206
    assert "content-encoding" not in headers
    assert body == BUNDLE_FILE.read_bytes()[:100]


def test_head_says_what_get_would_send_without_a_body(anonymous):
    response = anonymous.head(BUNDLE, headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < BUNDLE_FILE.stat().st_size
    assert response.content == b""


def test_small_files_images_and_other_paths_are_left_alone(anonymous, tmp_path):
    # given a folder with a script under the size worth compressing and an image over it
    (tmp_path / "small.js").write_text("let a = 1;\n" * 10)
    (tmp_path / "logo.png").write_bytes(b"\x89PNG" + b"\0" * 4000)
    client = TestClient(CompressedStaticFiles(directory=tmp_path))
    # when a client that accepts gzip asks for them
    for name in ("small.js", "logo.png"):
        status, headers, body = _raw(client, f"/{name}", {"accept-encoding": "gzip"})
        # then each is sent as it is, and not marked as varying
        assert status == 200 and "content-encoding" not in headers and "vary" not in headers
        assert body == (tmp_path / name).read_bytes()
    # and paths outside the package's folder, or of no file, are still not found
    for hostile in ("/static/../app.py", "/static/%2e%2e/state.py", "/static/nothing.js"):
        status, headers, _ = _raw(anonymous, hostile, {"accept-encoding": "gzip"})
        assert status == 404 and "content-encoding" not in headers


def test_a_file_changed_on_disk_is_compressed_again(tmp_path):
    # given a static folder of our own with a script, already sent compressed once
    script = tmp_path / "big.js"
    script.write_text("let a = 1;\n" * 500)
    client = TestClient(CompressedStaticFiles(directory=tmp_path))
    _, _, first = _raw(client, "/big.js", {"accept-encoding": "gzip"})
    assert gzip.decompress(first) == script.read_bytes()
    # when the file changes
    script.write_text("let b = 2;\n" * 700)
    stat = script.stat()
    os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    # then the next answer is the new file, compressed
    _, _, second = _raw(client, "/big.js", {"accept-encoding": "gzip"})
    assert gzip.decompress(second) == script.read_bytes()


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("*", True),
        ("*;q=0.1, br", True),
        ("gzip;q=0, *", False),
        ("gzip;q=0", False),
        ("gzip;q=-1", False),
        ("identity", False),
        (None, False),
        ("", False),
    ],
)
def test_accept_encoding_is_read_as_http_says(header, accepted):
    assert accepts_gzip(header) is accepted
