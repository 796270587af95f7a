"""The worker-side half of an item's profile: its language, its terms and its near-duplicate fingerprint.

Owns :func:`sketch` (CPU-heavy, pure, run in the worker processes): the item's language
(:mod:`~newswatch.stories.lexicon`), its terms without that language's function words, each term's prior
document probability in that language, and the MinHash LSH band keys over word 3-shingles of the body's first
bytes: datasketch's MinHash fed 32-bit polynomial shingle hashes read off numpy prefix sums, so no string is
built per shingle.  The constants are fixed so band keys from different processes and runs agree.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterable
from typing import Any

import numpy as np

from newswatch.models import Item
from newswatch.stories.lexicon import DETECT_CHARS, ELIDING, Lexicon, elided, language_of, lexicon
from newswatch.stories.params import StoryParams
from newswatch.stories.profile import DocFreqLike, ItemProfile, ItemSketch, weigh
from newswatch.stories.tokens import NAME, PLAIN, START, normalise, term_codes

__all__ = ["band_keys", "item_profile", "sketch"]


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


def sketch(item: Item, params: StoryParams, entities: Iterable[str] = ()) -> ItemSketch:
    """The item's language, terms and near-duplicate fingerprint; pure and process-independent.

    ``entities``: ids of watchlist entities that matched the item (through any alias), when the caller knows
    them; they become names keyed ``entity:<id>``.
    """
    # Title and body are normalised apart (the title alone makes the title vector, the body alone the
    # fingerprint) and joined: the same bytes as normalising the whole text, since a line break starts a
    # sentence either way.
    title_text = item.title[: params.max_title_chars]
    body = "\n".join(part for part in (item.summary, item.content) if part)[: params.max_chars]
    lex = lexicon(language_of(f"{title_text}\n{body[:DETECT_CHARS]}"))
    title_n = normalise(title_text) if title_text else b""
    body_n = normalise(body) if body else b""
    terms, counts, kinds = _terms(title_n + b" " + body_n if title_n and body_n else title_n or body_n)
    terms, counts, kinds, prior, became = _in_language(terms, counts, kinds, lex)
    title: tuple[str, ...] = ()
    if title_n:
        codes, vocab = term_codes(title_n)
        title = tuple(sorted({became[t] for t in (vocab[c >> 2] for c in codes.tolist()) if t in became}))
    return ItemSketch(
        terms=terms,
        counts=counts,
        kinds=kinds,
        title=title,
        # The fingerprint is of the body, not the headline (a syndicated copy is often retitled); of the
        # headline only when there is no body.
        bands=band_keys(body_n or title_n, params.bands, params.rows),
        entities=tuple(sorted({f"entity:{e}" for e in entities})),
        published=item.published.timestamp() if item.published is not None else None,
        prior=prior,
        lang=lex.lang,
    )


# A capitalised word that its language uses this commonly is a capitalised common noun (German writes every noun
# so) or a name everybody uses (a capital city): no more telling than a plain word, so it is weighed as one.
COMMON_NAME_P = 0.05
# Languages that capitalise every noun: there a capital is no evidence of a name at all.
NOUNS_CAPITALISED = frozenset({"de", "lb"})


def _in_language(
    terms: tuple[str, ...], counts: tuple[int, ...], kinds: bytes, lex: Lexicon
) -> tuple[tuple[str, ...], tuple[int, ...], bytes, tuple[float, ...], dict[str, str]]:
    """The terms in the item's language: function words dropped, names demoted where the language uses the word
    commonly, plain words stemmed (forms of one word merged), each with its prior document probability; and
    what each original term became (for the title's terms)."""
    common = 0.0 if lex.lang in NOUNS_CAPITALISED else COMMON_NAME_P
    words = [elided(t) for t in terms] if lex.lang in ELIDING else list(terms)
    keep = [i for i, t in enumerate(words) if t not in lex.function]
    # An acronym keeps its capitals ("US"): never a function word; it is weighed by its lower-case word's prior,
    # which for the common ones (US, UN, EU, AP) is right, and keeps datelines and agency credits from looking
    # like the rarest words of a report.
    kept_kinds = [
        PLAIN if kinds[i] == NAME and lex.p_doc(words[i].lower()) >= common else kinds[i] for i in keep
    ]
    plain = [words[i] for i, k in zip(keep, kept_kinds, strict=True) if k == PLAIN]
    stemmed = dict(zip(plain, lex.stems(plain), strict=True))
    merged: dict[str, list[int]] = {}  # term -> [count, kind]
    became: dict[str, str] = {}
    for i, kind in zip(keep, kept_kinds, strict=True):
        term = stemmed.get(words[i], words[i]) if kind == PLAIN else words[i]
        if term in lex.function:
            continue
        became[terms[i]] = term
        entry = merged.get(term)
        if entry is None:
            merged[term] = [counts[i], kind]
        else:
            entry[0] += counts[i]
            entry[1] = max(entry[1], kind)
    out = sorted(merged)
    return (
        tuple(out),
        tuple(merged[t][0] for t in out),
        bytes(merged[t][1] for t in out),
        tuple(lex.p_doc(t.lower() if t.isupper() else t) for t in out),
        became,
    )


def _terms(normalised: bytes) -> tuple[tuple[str, ...], tuple[int, ...], bytes]:
    """Distinct terms in alphabetical order, how often each occurs, and its kind (a name if any use is one)."""
    codes, vocab = term_codes(normalised)
    if not len(codes):
        return (), (), b""
    ids = codes >> 2
    starts = np.flatnonzero(np.concatenate([np.ones(1, dtype=bool), ids[1:] != ids[:-1]]))
    ends = np.concatenate([starts[1:], np.full(1, len(ids), dtype=starts.dtype)])
    terms = list(map(vocab.__getitem__, ids[starts].tolist()))
    counts = (ends - starts).tolist()
    kinds = (
        codes[ends - 1] & 3
    ).tolist()  # within a term the kinds sort ascending: the last is the strongest
    order = sorted(range(len(terms)), key=terms.__getitem__)
    return (
        tuple(terms[i] for i in order),
        tuple(counts[i] for i in order),
        bytes(kinds[i] for i in order),
    )


def item_profile(
    item: Item, df: DocFreqLike | None, params: StoryParams, entities: Iterable[str] = ()
) -> ItemProfile:
    """:func:`sketch` then :func:`~newswatch.stories.profile.weigh`, in one process (tests, evaluation)."""
    return weigh(sketch(item, params, entities), df, params)


# MinHash over word 3-shingles.  Only the first ``_MAX_SHINGLED`` bytes of an item are fingerprinted: copies
# of one report share their opening paragraphs, and hashing a whole long article cost more than every other
# feature together.  The shingle hashes are polynomial hashes read off numpy prefix sums; the MinHash itself
# is datasketch's, with permutations from one fixed seed so that band keys agree across processes and runs.
_MAX_SHINGLED = 1600
_SHINGLE = 3
_R = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64
_POW = np.concatenate([np.ones(1, dtype=np.uint64), np.cumprod(np.full(_MAX_SHINGLED, _R, dtype=np.uint64))])
_IPOW = np.concatenate(
    [np.ones(1, dtype=np.uint64), np.cumprod(np.full(_MAX_SHINGLED, pow(_R, -1, 2**64), dtype=np.uint64))]
)
_SHIFT = np.uint64(29)
_MIX = np.uint64(0xFF51AFD7ED558CCD)
_SHINGLE_TABLE = bytes.maketrans(START, b" ")  # case, full stops and sentence marks do not count
_PERMUTATIONS: dict[int, Any] = {}


def _permutations(num_perm: int) -> Any:
    perms = _PERMUTATIONS.get(num_perm)
    if perms is None:
        perms = _PERMUTATIONS[num_perm] = MinHash(num_perm=num_perm, seed=1, scheme="affine32").permutations
    return perms


def band_keys(normalised: bytes, bands: int, rows: int) -> tuple[str, ...]:
    """LSH band keys ``"<band>:<hex>"`` of the text's word 3-shingles (``bands * rows`` permutations)."""
    text = b" ".join(normalised[: _MAX_SHINGLED + 64].lower().translate(_SHINGLE_TABLE, b".'").split())
    arr = np.frombuffer(text[:_MAX_SHINGLED], dtype=np.uint8)
    n = len(arr)
    spaces = np.flatnonzero(arr == 32)
    if len(spaces) == n:
        return ()
    starts = np.concatenate([np.zeros(1, dtype=np.intp), spaces + 1])
    ends = np.concatenate([spaces, np.full(1, n, dtype=np.intp)])
    k = min(_SHINGLE, len(starts))
    lo, hi = starts[: len(starts) - k + 1], ends[k - 1 :]
    with np.errstate(over="ignore"):
        prefix = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(arr * _POW[:n], dtype=np.uint64)])
        x = (prefix[hi] - prefix[lo]) * _IPOW[lo]  # sum of byte * R**offset over each shingle
        x = (x ^ (x >> _SHIFT)) * _MIX  # polynomial hashes are weak in their low bits: mix
    shingles = np.unique((x >> np.uint64(32)).astype(np.uint32))
    num_perm = bands * rows
    mh = MinHash(num_perm=num_perm, permutations=_permutations(num_perm), scheme="affine32", hashfunc=int)
    mh.update_batch(shingles.tolist())
    digits = np.asarray(mh.hashvalues, dtype=np.uint32).tobytes().hex()
    w = 8 * rows  # hex digits per band: rows 32-bit values
    return tuple(f"{b}:{digits[b * w : (b + 1) * w]}" for b in range(bands))
