"""Bounded decompression of HTTP bodies: gzip and deflate inflated incrementally, stopped at a byte cap.

Owns :class:`Inflater`, which the fetch stage feeds the body chunk by chunk as it arrives: the output is
counted as it is produced, so a gzip bomb is cut off at the cap after inflating about that much, never more.
Every problem (cap exceeded, unsupported or corrupt encoding) is a :class:`BodyError` with a one-line message.
"""

from __future__ import annotations

import zlib

__all__ = ["BodyError", "Inflater", "human_size"]


class BodyError(Exception):
    """A body that cannot be used: too large (before or after decompression), or undecodable."""


class Inflater:
    """Incremental gzip/deflate decoding that stops as soon as the output passes the cap."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise BodyError(f"unsupported content encoding: {content_encoding.strip()[:60]}")
        self._coding = codings[0] if codings else ""
        if self._coding not in ("", "gzip", "x-gzip", "deflate"):
            raise BodyError(f"unsupported content encoding: {self._coding[:60]}")
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self._raw_deflate = False
        self._pending = b""  # for "deflate": bytes held until we know zlib-wrapped or raw
        self._z: zlib._Decompress | None = None
        if self._coding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, chunk: bytes) -> None:
        if not self._coding:
            self._add(chunk)
            return
        if self._z is None:  # deflate: servers send either zlib-wrapped (correct) or raw streams
            self._pending += chunk
            if len(self._pending) < 2:
                return
            first = self._pending[0]
            wrapped = first & 0x0F == 8 and (first << 8 | self._pending[1]) % 31 == 0
            self._z = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            chunk, self._pending = self._pending, b""
        data = chunk
        try:
            while data:
                out = self._z.decompress(data, self._limit - self._size + 1)
                self._add(out)
                data = self._z.unconsumed_tail
                if self._z.eof:
                    break  # trailing garbage after the stream end is ignored, as browsers do
        except zlib.error as exc:
            raise BodyError(f"corrupt {self._coding} body: {exc}") from None

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            if self._coding:
                raise BodyError(f"decompressed body larger than {human_size(self._limit)}")
            raise BodyError(f"body larger than {human_size(self._limit)}")
        if data:
            self._parts.append(data)

    def finish(self) -> bytes:
        if self._pending:  # a deflate body shorter than two bytes
            self.feed(b"")
        if self._z is not None:
            try:
                self._add(self._z.flush())
            except zlib.error as exc:
                raise BodyError(f"corrupt {self._coding} body: {exc}") from None
        return b"".join(self._parts)


def human_size(n: int) -> str:
    """Human size with binary units, as people write them: 10485760 → "10 MB"."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{round(n / size, 1):g} {unit}"
    return f"{n} bytes"
