"""The worker-side half of story features: an item's terms and its near-duplicate fingerprint.

Owns :func:`sketch` (CPU-heavy, pure, run in the worker processes) and the MinHash LSH band keys over word
3-shingles: datasketch's MinHash fed 32-bit polynomial shingle hashes read off numpy prefix sums, so no string
is built per shingle.  The constants are fixed so band keys from different processes and runs agree.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

import numpy as np

from newswatch.models import Item
from newswatch.stories.docfreq import DocFreq
from newswatch.stories.features import ItemSketch, StoryFeatures, weigh
from newswatch.stories.params import DEFAULT_PARAMS, StoryParams
from newswatch.stories.tokens import START, normalise, term_counts

__all__ = ["item_features", "sketch"]


def _import_minhash() -> Any:
    """datasketch's ``MinHash`` class, without running the package's ``__init__``.

    The package's ``__init__`` imports every sketch it has, and its LSH imports scipy: about 60 MB and a second
    of start-up in every worker process, for a class that needs only numpy.  Where datasketch is already imported
    whole, that import is used.
    """
    if "datasketch" not in sys.modules:
        spec = importlib.util.find_spec("datasketch")
        if spec is not None and spec.submodule_search_locations is not None:
            package = types.ModuleType("datasketch")
            package.__path__ = list(spec.submodule_search_locations)
            sys.modules["datasketch"] = package
            try:
                from datasketch.minhash import MinHash as lean
            finally:
                del sys.modules["datasketch"]  # a later `import datasketch` runs the real package
            return lean
    from datasketch import MinHash

    return MinHash


MinHash = _import_minhash()


def sketch(item: Item, params: StoryParams = DEFAULT_PARAMS) -> ItemSketch:
    """The item's terms and near-duplicate fingerprint; pure and process-independent."""
    normalised = normalise(item.text)
    terms, counts, kinds = term_counts(normalised.split())
    order = sorted(range(len(terms)), key=terms.__getitem__)
    published = item.published.timestamp() if item.published is not None else None
    return ItemSketch(
        terms=tuple(terms[i] for i in order),
        counts=tuple(int(counts[i]) for i in order),
        kinds=bytes(int(kinds[i]) for i in order),
        bands=_band_keys(normalised, params),
        published=published,
    )


def item_features(item: Item, df: DocFreq | None, params: StoryParams = DEFAULT_PARAMS) -> StoryFeatures:
    """:func:`sketch` then :func:`weigh`, in one process (tests and evaluation)."""
    return weigh(sketch(item, params), df, params)


# MinHash over word 3-shingles.  The MinHash itself is datasketch's (affine permutations, shared by every
# process through one fixed seed); only the shingle hashes are ours: each shingle's hash is a polynomial hash of
# its bytes read off numpy prefix sums, so no string is built per shingle.  The constants are fixed so band keys
# from different processes and runs agree.
# Bytes of normalised text fingerprinted: the rest of a very long article adds nothing.
_MAX_SHINGLED = 1 << 16
_R = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64
_POW = np.concatenate(
    [np.ones(1, dtype=np.uint64), np.cumprod(np.full(_MAX_SHINGLED, _R, dtype=np.uint64))]
)  # R**k modulo 2**64 (numpy integer products wrap)
_IPOW = np.concatenate(
    [np.ones(1, dtype=np.uint64), np.cumprod(np.full(_MAX_SHINGLED, pow(_R, -1, 2**64), dtype=np.uint64))]
)  # R**-k
_SHIFT = np.uint64(29)
_MIX = np.uint64(0xFF51AFD7ED558CCD)
# Case, full stops, apostrophes and sentence marks do not count: a copy may differ in those.
_SHINGLE_TABLE = bytes.maketrans(START, b" ")
_PERMUTATIONS: dict[int, Any] = {}


def _permutations(num_perm: int) -> Any:
    perms = _PERMUTATIONS.get(num_perm)
    if perms is None:
        perms = _PERMUTATIONS[num_perm] = MinHash(num_perm=num_perm, seed=1, scheme="affine32").permutations
    return perms


def _band_keys(normalised: bytes, params: StoryParams) -> tuple[str, ...]:
    # Whitespace collapsed again: a copy with other line breaks must give the same shingles.
    text = b" ".join(normalised.lower().translate(_SHINGLE_TABLE, b".'").split())[:_MAX_SHINGLED]
    arr = np.frombuffer(text, dtype=np.uint8)
    n = len(arr)
    spaces = np.flatnonzero(arr == 32)
    if len(spaces) == n:
        return ()
    starts = np.concatenate([np.zeros(1, dtype=np.intp), spaces + 1])
    ends = np.concatenate([spaces, np.full(1, n, dtype=np.intp)])
    k = min(params.shingle, len(starts))
    lo, hi = starts[: len(starts) - k + 1], ends[k - 1 :]
    with np.errstate(over="ignore"):
        prefix = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(arr * _POW[:n], dtype=np.uint64)])
        x = (prefix[hi] - prefix[lo]) * _IPOW[lo]  # sum of byte * R**offset over each shingle
        x = (x ^ (x >> _SHIFT)) * _MIX  # polynomial hashes are weak in their low bits: mix
    shingles = np.unique((x >> np.uint64(32)).astype(np.uint32))
    mh = MinHash(
        num_perm=params.num_perm, permutations=_permutations(params.num_perm), scheme="affine32", hashfunc=int
    )
    mh.update_batch(shingles.tolist())
    rows = params.num_perm // params.bands
    values = np.asarray(mh.hashvalues, dtype=np.uint32)
    return tuple(f"{b}:{values[b * rows : (b + 1) * rows].tobytes().hex()}" for b in range(params.bands))
