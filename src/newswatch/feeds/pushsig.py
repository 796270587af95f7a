"""WebSub content signatures (§7.1): whether a notification's ``X-Hub-Signature`` is the HMAC of its body."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["signature_valid"]

_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    """Whether ``X-Hub-Signature: method=hexdigest`` is the HMAC of ``body`` under ``secret`` (§7.1)."""
    method, _, digest = header.strip().partition("=")
    algorithm = _HASHES.get(method.strip().lower())
    if algorithm is None or not digest:
        return False
    expected = hmac.new(secret.encode(), body, algorithm).hexdigest()
    return hmac.compare_digest(expected, digest.strip().lower())
