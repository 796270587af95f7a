"""Text that reaches a terminal or a log: what any stage must strip from what it did not write itself."""

from __future__ import annotations

import re

__all__ = ["strip_controls"]

# Terminal escape sequences (ECMA-48): CSI (colours, cursor moves, clear screen), the string controls OSC (window
# titles, OSC-8 hyperlinks), DCS, SOS, PM and APC up to their terminator, and two-byte escapes.  They go whole,
# so "\x1b]8;;http://evil\x07click\x1b]8;;\x07" leaves "click", not the hidden target.  A string control's body
# stops at the next introducer too: otherwise each of "\x90\x90\x90…" re-read the rest (quadratic, issue 21);
# the introducer left behind is a C1 control, stripped below.
_ESCAPE_SEQUENCE_RE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\x90\x98\x9d\x9e\x9f]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
)
# Every C0 and C1 control but the line break; tab and carriage return become spaces so words stay apart.
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_AS_SPACE = str.maketrans({"\t": " ", "\r": " "})


def strip_controls(text: str) -> str:
    """``text`` without terminal escape sequences or C0/C1 control characters; line breaks stay.

    For anything from a feed that may reach a terminal (ANSI colours, clear-screen, OSC-8 links, BEL …) and for
    item text, where such characters are never text.
    """
    if not _CONTROL_CHARS_RE.search(text):  # the common case: one scan, no new string
        return text
    text = _ESCAPE_SEQUENCE_RE.sub("", text.translate(_AS_SPACE))
    return _CONTROL_CHARS_RE.sub("", text)
