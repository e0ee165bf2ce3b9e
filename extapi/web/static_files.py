"""``CompressedStaticFiles``: the package's static files, gzip-compressed for browsers that take it.

The API explorer's editor bundle is about 640 KB of JavaScript; compressed it is under a third
of that. Each text file over :data:`MIN_BYTES` is compressed once per process, in a worker
thread when it is first asked for, and kept in memory (the folder holds a handful of files, so
the table stays small; a file changed on disk is compressed again). The compressed answer has
its own ETag, says ``Content-Encoding: gzip`` and, like the plain one, ``Vary:
Accept-Encoding``, so that caches keep the two apart. Range requests and clients that do not
accept gzip get the file as it is.
"""

from __future__ import annotations

import gzip
import os
import threading
from email.utils import parsedate

import anyio
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import Receive, Scope, Send

from extapi.http import weighted_items

__all__ = ["CompressedStaticFiles", "accepts_gzip", "COMPRESSED_SUFFIXES", "MIN_BYTES"]

# Text formats worth compressing; images and fonts are compressed already.
COMPRESSED_SUFFIXES = frozenset({".js", ".css", ".svg", ".json", ".map", ".txt", ".html"})
# Below this the gzip header and the extra round of work are not worth it.
MIN_BYTES = 1024
# An Accept-Encoding header longer than this is not read (it is no real browser's).
_MAX_ACCEPT = 1024

# Full path -> (modification time in ns, size, gzip bytes).
_compressed: dict[str, tuple[int, int, bytes]] = {}
_compressing = threading.Lock()


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether ``Accept-Encoding`` allows gzip: listed (or ``x-gzip``) with a weight above
    zero, or not listed and ``*`` allowed. A header that cannot be read allows nothing."""
    if not accept_encoding or len(accept_encoding) > _MAX_ACCEPT:
        return False
    gzip_weight: float | None = None
    any_weight: float | None = None
    for coding, weight in weighted_items(accept_encoding):
        if coding in ("gzip", "x-gzip"):
            gzip_weight = weight if gzip_weight is None else max(gzip_weight, weight)
        elif coding == "*":
            any_weight = weight
    if gzip_weight is not None:
        return gzip_weight > 0
    return any_weight is not None and any_weight > 0


def _known(full_path: str, stat_result: os.stat_result) -> bytes | None:
    """The file's gzip bytes if this version of it was compressed already."""
    known = _compressed.get(full_path)
    if known is not None and known[:2] == (stat_result.st_mtime_ns, stat_result.st_size):
        return known[2]
    return None


def _gzipped(full_path: str, stat_result: os.stat_result) -> bytes:
    """The file's gzip bytes, compressed once for this version of the file (in a worker
    thread: the editor bundle takes tens of milliseconds)."""
    with _compressing:  # one compression at a time, and a file compressed only once
        data = _known(full_path, stat_result)
        if data is None:
            with open(full_path, "rb") as source:
                data = gzip.compress(source.read(), compresslevel=6, mtime=0)
            _compressed[full_path] = (stat_result.st_mtime_ns, stat_result.st_size, data)
        return data


class _CompressedFile(Response):
    """A file's gzip bytes, compressed when the answer is sent if they are not kept yet."""

    def __init__(
        self,
        full_path: str,
        stat_result: os.stat_result,
        headers: dict[str, str],
        with_body: bool,
    ) -> None:
        super().__init__(None, headers=headers)
        self._source = (full_path, stat_result)
        self._with_body = with_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        data = _known(*self._source)
        if data is None:
            data = await anyio.to_thread.run_sync(_gzipped, *self._source)
        self.body = data if self._with_body else b""
        length = (b"content-length", str(len(data)).encode("latin-1"))
        self.raw_headers = [h for h in self.raw_headers if h[0] != b"content-length"] + [length]
        await super().__call__(scope, receive, send)


def _unchanged(request: Headers, etag: str, last_modified: str) -> bool:
    """The conditional request's answer: whether the client's copy is still current."""
    if_none_match = request.get("if-none-match")
    if if_none_match:
        return etag in [tag.strip(" W/") for tag in if_none_match.split(",")]
    since = request.get("if-modified-since")
    if since:
        asked, modified = parsedate(since), parsedate(last_modified)
        return asked is not None and modified is not None and asked >= modified
    return False


class CompressedStaticFiles(StaticFiles):
    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        path = os.fspath(full_path)
        if (
            os.path.splitext(path)[1].lower() not in COMPRESSED_SUFFIXES
            or stat_result.st_size < MIN_BYTES
        ):
            return response
        response.headers["vary"] = "Accept-Encoding"
        request = Headers(scope=scope)
        if (
            response.status_code != 200
            or "range" in request
            or not accepts_gzip(request.get("accept-encoding"))
        ):
            return response
        plain_etag = response.headers["etag"]
        headers = {
            "content-type": response.headers["content-type"],
            "etag": plain_etag[:-1] + '-gzip"' if plain_etag.endswith('"') else plain_etag,
            "last-modified": response.headers["last-modified"],
            "vary": "Accept-Encoding",
            "content-encoding": "gzip",
        }
        if _unchanged(request, headers["etag"], headers["last-modified"]):
            return NotModifiedResponse(Headers(headers))
        return _CompressedFile(path, stat_result, headers, scope.get("method") != "HEAD")
