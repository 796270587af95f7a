"""Story assignment: which story of a watch a matched item belongs to.

This module owns the story algorithm and nothing else: turning an item into compact features, the pure decision
"which candidate story, if any, does this item join", and an in-memory state that the evaluation, the tests and
a single process use.  The persistent, multi-worker state lives in the stores and follows the design below.

Pipeline of one item in one watch::

    item_features(item, df)            pure, picklable, CPU-heavy -> run in a worker pool, once per item
      -> StoryState.candidates(...)    round trip 1: stories sharing an LSH band or a salient term, in window
      -> assign(features, cands, p)    pure decision: near-duplicate, else same event, else None (new story)
      -> StoryState.commit(...)        round trip 2: add the item to the story (or create it), atomically

Decision rules (precision first: merging two events hides a new event, a split only costs one extra alert):

1. *Near-duplicate*: the item shares at least ``dup_min_bands`` MinHash LSH band keys (word 3-shingles) with a
   story in the window -> join it.  Catches syndicated and retitled copies whatever their vocabulary weights.
2. *Same event*: cosine between the item's sparse salient-term vector (TF-IDF, document frequencies learned
   from the stream, names and numbers boosted, top ``top_k`` terms) and a story's centroid (sum of its members'
   vectors, top ``centroid_terms`` terms) is at least ``threshold`` -> join the best such story.  A centroid,
   not single-link, so one borderline member cannot chain two events together.
3. Otherwise a new story, whose id is the id of its first item.

A story is in the window of an item published at ``t`` when ``first - window_s <= t <= latest + window_s``
(publication times; items without a date use the time they were assigned).

Features cost about a millisecond for a news article: text is tokenised with bytes operations and each
distinct written form is classified once per process; the near-duplicate fingerprint is datasketch's MinHash
fed 32-bit polynomial shingle hashes read off numpy prefix sums, so no string is built per shingle.

Store integration (the in-memory implementation mirrors it key for key; every value is plain data):

``stories:<watch>:band:<band key>`` -> story id (string, TTL = window)
    Near-duplicate lookup: one MGET/HMGET of the item's ``bands`` keys.
``stories:<watch>:term:<term>`` -> sorted set story id -> latest publication time
    Candidate lookup by salient term: ZREVRANGEBYSCORE within the window, LIMIT ``postings_per_term``; only a
    story's top ``index_terms`` centroid terms are posted, so lists stay short.
``stories:<watch>:story:<id>`` -> :meth:`StoryRecord.to_json` (first, latest, size, centroid)
``stories:df`` -> hash term -> document count, plus ``__n__``; workers keep a local :class:`DocFreq` snapshot
    refreshed every few minutes, the commit script increments it (HINCRBY of the item's ``terms``).

Round trips per item and watch: **2**.  One Lua script (or one SQLite read transaction) returns the band hits
and the records of the top ``max_candidates`` term-sharing stories; :func:`assign` decides in the worker; a
second script commits.  The commit is atomic and re-checks the band keys: if another worker created a story
for a copy of this item in between, the item joins that story instead of opening a second one (two workers,
two copies -> one story).  A concurrent *rewrite* that lands between the two round trips can still open a
second story; the script may detect it (watch version counter changed) and ask for one retry, a third round
trip in that rare case.
"""

from __future__ import annotations

import heapq
import json
import math
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter, mul
from typing import Any, Protocol

import numpy as np
from datasketch import MinHash

from newswatch.models import Item

__all__ = [
    "Candidates",
    "DocFreq",
    "InMemoryStories",
    "StoryFeatures",
    "StoryParams",
    "StoryRecord",
    "StoryState",
    "assign",
    "cosine",
    "item_features",
    "tokenize",
]


@dataclass(frozen=True, slots=True)
class StoryParams:
    """Knobs of story assignment; defaults chosen on half of the ECB+ dev topics (see benchmarks/README.md).

    ``threshold`` trades the two errors: higher keeps look-alike events apart (precision, fewer hidden
    alerts) but splits rewrites of one event into several stories (recall, more duplicate alerts).
    """

    threshold: float = 0.375  # cosine item vs story centroid to join as "same event"
    window_s: float = 48 * 3600.0  # a story takes items up to this long after its latest item
    # MinHash LSH: num_perm = bands * rows.  16 bands of 4 rows make a pair with shingle Jaccard 0.5 share
    # a band with probability 0.64 and one with 0.8 with probability ~1.0; 0.2 only 0.025.
    num_perm: int = 64
    bands: int = 16
    shingle: int = 3  # words per shingle
    dup_min_bands: int = 2  # band hits required to call a near-duplicate (one hit alone happens by chance)
    top_k: int = 48  # salient terms kept per item
    centroid_terms: int = 64  # terms kept per story centroid
    index_terms: int = 16  # centroid terms posted in the term index
    query_terms: int = 16  # item terms looked up in the term index
    postings_per_term: int = 64  # most recent stories read per looked-up term
    max_candidates: int = 32  # story records fetched and scored per item
    name_boost: float = 4.0  # weight multiplier for capitalised mid-sentence words and acronyms
    number_boost: float = 1.0  # weight multiplier for numbers of 2+ digits (years, counts)

    def __post_init__(self) -> None:
        if self.num_perm % self.bands:
            raise ValueError(f"num_perm ({self.num_perm}) must be a multiple of bands ({self.bands})")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.window_s <= 0:
            raise ValueError(f"window_s must be positive, got {self.window_s}")


DEFAULT_PARAMS = StoryParams()


# --------------------------------------------------------------------------------------------------- features


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    """What story assignment needs of one item; small, picklable and JSON-able for the store.

    ``vector`` is the L2-normalised salient-term vector, heaviest term first; ``terms`` are all distinct
    terms of the item, for learning document frequencies; ``published`` is epoch seconds or None.
    """

    bands: tuple[str, ...]
    vector: tuple[tuple[str, float], ...]
    terms: tuple[str, ...]
    published: float | None = None


class DocFreq:
    """Document frequencies learned from the stream: how rare, hence how telling, each term is.

    Memory is bounded by :meth:`prune`, which forgets the rarest terms (seen in one document) first.
    """

    __slots__ = ("counts", "n_docs")

    def __init__(self, counts: Mapping[str, int] | None = None, n_docs: int = 0) -> None:
        self.counts: dict[str, int] = dict(counts or {})
        self.n_docs = n_docs

    def add(self, terms: Iterable[str]) -> None:
        """Count one document made of these distinct terms."""
        counts = self.counts
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
        self.n_docs += 1

    def idf(self, term: str) -> float:
        # Smoothed so that an unseen term is finite and a term in every document still weighs a little.
        return math.log((self.n_docs + 1) / (self.counts.get(term, 0) + 1)) + 1.0

    def prune(self, max_terms: int) -> None:
        """Keep at most ``max_terms`` terms, dropping the least frequent."""
        if len(self.counts) > max_terms:
            kept = sorted(self.counts.items(), key=lambda kv: kv[1], reverse=True)[:max_terms]
            self.counts = dict(kept)


# A short English stop list: function words carry no event information and would dominate raw counts.
_STOPWORD_TEXT = """a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having he
her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now
of off on once only or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself yourselves said says say told according one
two new last first year years yesterday today week since may might must shall us mr mrs ms via per around"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Tokenising ----------------------------------------------------------------------------------------------------
#
# Feature extraction must cost well under a millisecond per article in pure Python, and a Unicode word regex
# alone costs about half of that.  So text is normalised with C-speed bytes operations: punctuation becomes a
# space, sentence ends become a marker byte glued to the next word, whitespace collapses; then one
# ``bytes.split`` yields the written forms, and each distinct form is classified once per process (news
# vocabulary repeats) into a term and whether that use of it is a name.

_START = b"\x02"  # glued to the first word of a sentence: capitalised there, a word is no evidence of a name
_TABLE = bytearray(range(256))
for _c in range(32):
    _TABLE[_c] = 32
for _c in b"\n\r\t!?:|":
    _TABLE[_c] = _START[0]
for _c in b'"#$%&()*+,-/;<=>@[\\]^_`{}~\x7f':
    _TABLE[_c] = 32
_BYTES_TABLE = bytes(_TABLE)
# Non-ASCII punctuation and spaces that would otherwise stick to words (looked for only in non-ASCII text).
_UNICODE_SUBS = (
    *((c, " ") for c in "\xa0\u2002\u2003\u2009\u200a\u200b\u202f“”‘«»„‹›—–‐‑…¿¡′″·"),
    ("•", "\n"),
)
_STRIP = ".'’\""
_PLAIN, _NAME, _NUMBER = 0, 1, 2


def _normalise(text: str) -> bytes:
    """Words separated by spaces, ``_START`` glued to each sentence's first word."""
    if not text.isascii():
        for old, new in _UNICODE_SUBS:
            if old in text:
                text = text.replace(old, new)
    raw = b" ".join(text.encode("utf-8", "replace").translate(_BYTES_TABLE).split())
    # A full stop ends a sentence when a space follows ("U.S. officials" starts one too, as it always did).
    raw = raw.replace(b". ", b" \x02").replace(b"\x02 ", b"\x02").replace(b"\x02", b" \x02")
    return _START + raw


def _classify(raw: bytes) -> tuple[str, int]:
    """The term of a written form ("" for none) and its kind."""
    word = raw.decode("utf-8", "replace")
    start = word.startswith("\x02")
    word = word.strip("\x02").strip(_STRIP)
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if "." in word:
        word = word.replace(".", "")
    word = word.strip(_STRIP)
    if not word:
        return "", _PLAIN
    if word[0].isdigit():
        # Numbers of 2+ digits (years, counts, scores) are telling; "3" or "4th" are not.
        return (word, _NUMBER) if len(word) >= 2 and word.isdigit() else ("", _PLAIN)
    if len(word) >= 2 and word.isupper():
        return word.lower(), _NAME  # an acronym is a name wherever it stands ("US" is not "us")
    lower = word.lower()
    if lower in _STOPWORDS or len(lower) < 2:
        return "", _PLAIN
    if word[0].isupper() and not start:
        return lower, _NAME  # names are never stemmed: "Hamas" must not become "hama"
    if len(lower) > 4 and lower.endswith("ies"):
        lower = lower[:-3] + "y"
    elif len(lower) > 3 and lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        lower = lower[:-1]
    return lower, _PLAIN


class _Forms(dict[bytes, int]):
    """Written form -> ``term id << 2 | kind of this use`` (0: no term).

    A dict whose ``__missing__`` classifies unseen forms, so a whole article is looked up with one C-level
    ``map`` and only new forms cost Python code.  Term ids index ``vocab`` and mean nothing outside it.
    """

    MAX = 300_000  # forms remembered per process: a few tens of MB at most

    def __init__(self) -> None:
        super().__init__()
        self.vocab: list[str] = [""]
        self.ids: dict[str, int] = {}

    def __missing__(self, raw: bytes) -> int:
        term, kind = _classify(raw)
        code = 0
        if term:
            tid = self.ids.get(term)
            if tid is None:
                tid = self.ids[term] = len(self.vocab)
                self.vocab.append(term)
            code = tid << 2 | kind
        self[raw] = code
        return code


_FORMS = _Forms()


def _forms() -> _Forms:
    global _FORMS
    if len(_FORMS) > _Forms.MAX:
        # Start afresh rather than clear in place: a call running in another thread keeps a consistent table.
        _FORMS = _Forms()
    return _FORMS


def tokenize(text: str) -> list[tuple[str, bool]]:
    """Split text into (term, is_name) pairs; stop words and single characters are dropped.

    A name is a capitalised word that does not start a sentence, or an acronym ("U.S.", "NATO"); names are not
    stemmed ("Hamas" must not become "hama").  Other words lose a plural "s" so "hostages" meets "hostage".
    (:func:`item_features` counts the same terms without building this list.)
    """
    forms = _forms()
    codes = [forms[w] for w in _normalise(text).split()]
    return [(forms.vocab[c >> 2], c & 3 == _NAME) for c in codes if c]


def _term_counts(words: Sequence[bytes]) -> tuple[list[str], Any, Any]:
    """Distinct terms, their counts, and their kinds (a name if any use is one), in no useful order."""
    forms = _forms()
    codes = np.fromiter(map(forms.__getitem__, words), dtype=np.int64, count=len(words))
    # Group by term id with one sort (np.unique costs more on arrays this small); codes below 4 carry no term.
    # Within a group the kinds sort ascending, so the last use of a term tells whether any use was a name.
    codes = np.sort(codes)
    codes = codes[np.searchsorted(codes, 4) :]
    if not len(codes):
        return [], codes, codes
    ids = codes >> 2
    starts = np.flatnonzero(np.concatenate([np.ones(1, dtype=bool), ids[1:] != ids[:-1]]))
    ends = np.concatenate([starts[1:], np.full(1, len(ids), dtype=starts.dtype)])
    terms = list(map(forms.vocab.__getitem__, ids[starts].tolist()))
    return terms, ends - starts, codes[ends - 1] & 3


def _top(weights: Any, terms: Sequence[str], k: int) -> list[int]:
    """Indices of the ``k`` heaviest terms, heaviest first, equal weights in alphabetical order.

    Only the candidates are sorted in Python: at a cold start many terms weigh the same, and the cut through
    them must not depend on anything but the terms themselves.
    """
    if len(terms) > k:
        cut = np.partition(weights, len(terms) - k)[len(terms) - k]  # the k-th largest weight
        above = np.flatnonzero(weights > cut).tolist()
        tied = sorted(np.flatnonzero(weights == cut).tolist(), key=terms.__getitem__)
        chosen = above + tied[: k - len(above)]
    else:
        chosen = list(range(len(terms)))
    w = weights.tolist()
    return sorted(chosen, key=lambda i: (-w[i], terms[i]))


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
_SHINGLE_TABLE = bytes.maketrans(_START, b" ")
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


def item_features(item: Item, df: DocFreq | None, params: StoryParams = DEFAULT_PARAMS) -> StoryFeatures:
    """Compute an item's story features; pure, so it can run in a process pool.

    ``df`` None weighs every term as if equally rare (a cold start); the caller learns ``df`` from
    ``features.terms`` afterwards.
    """
    normalised = _normalise(item.text)
    terms, counts, kinds = _term_counts(normalised.split())
    vector: tuple[tuple[str, float], ...] = ()
    if terms:
        w = 1.0 + np.log(counts)
        if df is not None:
            seen = np.fromiter(map(df.counts.get, terms, repeat(0)), dtype=np.float64, count=len(terms))
            w *= np.log((df.n_docs + 1) / (seen + 1.0)) + 1.0
        if params.name_boost != 1.0 or params.number_boost != 1.0:
            w *= np.array([1.0, params.name_boost, params.number_boost])[kinds]
        top = _top(w, terms, params.top_k)
        wt = w[top]
        # np.round divides by 1e5 after rounding, so each value prints as short as Python's round() would.
        wt = np.round(wt / (math.sqrt(float(wt @ wt)) or 1.0), 5)
        vector = tuple(zip(map(terms.__getitem__, top), wt.tolist(), strict=True))
    published = item.published.timestamp() if item.published is not None else None
    return StoryFeatures(
        bands=_band_keys(normalised, params), vector=vector, terms=tuple(sorted(terms)), published=published
    )


def cosine(vector: Sequence[tuple[str, float]], centroid: Mapping[str, float], centroid_norm: float) -> float:
    """Cosine of a normalised item vector and a story centroid of the given norm."""
    if centroid_norm <= 0.0:
        return 0.0
    return _dot([t for t, _ in vector], [w for _, w in vector], centroid) / centroid_norm


def _dot(terms: Sequence[str], weights: Sequence[float], centroid: Mapping[str, float]) -> float:
    # C-level map/sum: this runs for every candidate story of every item, tens of times per item.
    return math.fsum(map(mul, weights, map(centroid.get, terms, repeat(0.0))))


# --------------------------------------------------------------------------------------------------- decision


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """One story of one watch, as the store keeps it."""

    story_id: str
    first: float  # publication time of its earliest item
    latest: float  # publication time of its latest item
    size: int
    centroid: Mapping[str, float]  # sum of member vectors, top ``centroid_terms`` terms
    norm: float

    def in_window(self, at: float, window_s: float) -> bool:
        return self.first - window_s <= at <= self.latest + window_s

    def joined(self, features: StoryFeatures, at: float, params: StoryParams) -> StoryRecord:
        """This story after ``features`` joined it."""
        summed = dict(self.centroid)
        for term, w in features.vector:
            summed[term] = summed.get(term, 0.0) + w
        return _record(
            self.story_id, min(self.first, at), max(self.latest, at), self.size + 1, summed, params
        )

    def to_json(self) -> str:
        # The norm travels with the centroid: a store reads tens of records per item, and recomputing each
        # norm cost more than parsing the JSON.
        return json.dumps(
            {"id": self.story_id, "first": self.first, "latest": self.latest, "size": self.size,
             "centroid": {t: round(w, 5) for t, w in self.centroid.items()}, "norm": round(self.norm, 6)},
            separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def from_json(cls, raw: str | bytes) -> StoryRecord:
        d = json.loads(raw)
        centroid: dict[str, float] = d["centroid"]  # written by to_json: string keys, float values
        norm = d.get("norm")
        return cls(
            d["id"], d["first"], d["latest"], d["size"], centroid, _norm(centroid) if norm is None else norm
        )


def _norm(centroid: Mapping[str, float]) -> float:
    return math.hypot(*centroid.values())


def _record(
    story_id: str, first: float, latest: float, size: int, summed: Mapping[str, float], params: StoryParams
) -> StoryRecord:
    if len(summed) > params.centroid_terms:
        summed = dict(heapq.nlargest(params.centroid_terms, summed.items(), key=itemgetter(1)))
    # Rounding to 5 digits is for compact storage and happens in to_json: not worth CPU on every commit.
    centroid = dict(summed)
    return StoryRecord(story_id, first, latest, size, centroid, _norm(centroid))


def new_story(story_id: str, features: StoryFeatures, at: float, params: StoryParams) -> StoryRecord:
    return _record(story_id, at, at, 1, dict(features.vector), params)


@dataclass(frozen=True, slots=True)
class Candidates:
    """What the state returns for one item: band hits per story and the candidate stories' records."""

    at: float  # the item's time: its publication time, else the time it was assigned
    band_hits: Mapping[str, int]  # story id -> number of the item's LSH band keys pointing at it
    stories: Sequence[StoryRecord]


def assign(
    features: StoryFeatures, candidates: Candidates, params: StoryParams = DEFAULT_PARAMS
) -> str | None:
    """The story the item joins, or None for a new story.  Pure: same inputs, same answer."""
    at = candidates.at
    in_window = [s for s in candidates.stories if s.in_window(at, params.window_s)]
    if not in_window:
        return None
    best_dup: StoryRecord | None = None
    best_hits = 0
    for story in in_window:
        hits = candidates.band_hits.get(story.story_id, 0)
        if hits >= params.dup_min_bands and (
            hits > best_hits
            or (hits == best_hits and best_dup is not None and story.latest > best_dup.latest)
        ):
            best_dup, best_hits = story, hits
    if best_dup is not None:
        return best_dup.story_id
    best: StoryRecord | None = None
    best_sim = params.threshold
    terms = [t for t, _ in features.vector]
    weights = [w for _, w in features.vector]
    for story in in_window:
        if story.norm <= 0.0:
            continue
        sim = _dot(terms, weights, story.centroid) / story.norm
        if sim >= best_sim:
            best, best_sim = story, sim
    return best.story_id if best is not None else None


# --------------------------------------------------------------------------------------------------- state


class StoryState(Protocol):
    """Where stories live: two calls per item, which a store makes one round trip each."""

    def candidates(self, watch: str, features: StoryFeatures, at: float) -> Candidates:
        """Stories of ``watch`` sharing LSH bands or salient terms with the item, in its window."""
        ...

    def commit(
        self, watch: str, item_id: str, features: StoryFeatures, at: float, story_id: str | None
    ) -> tuple[str, bool]:
        """Add the item to ``story_id``, or open a story for it when None; returns (story id, is new)."""
        ...


@dataclass(slots=True)
class _Watch:
    stories: dict[str, StoryRecord] = field(default_factory=dict)
    bands: dict[str, str] = field(default_factory=dict)  # band key -> story id
    # term -> story id -> latest; insertion order is recency order, like a sorted set scored by time
    postings: dict[str, OrderedDict[str, float]] = field(default_factory=dict)
    posted: dict[str, tuple[str, ...]] = field(default_factory=dict)  # story id -> its posted terms
    items: dict[str, str] = field(default_factory=dict)  # item id -> story id


class InMemoryStories:
    """Story state in this process's memory: the evaluation's, the tests', and a single process's state.

    Implements :class:`StoryState`; :meth:`assign` runs the whole pipeline for one item and learns document
    frequencies from every distinct item it sees (once per item, whatever the number of watches).
    """

    def __init__(
        self,
        params: StoryParams = DEFAULT_PARAMS,
        df: DocFreq | None = None,
        *,
        learn_df: bool = True,
        clock: Callable[[], float] = time.time,
        max_df_terms: int = 500_000,
    ) -> None:
        self.params = params
        self.df = df if df is not None else DocFreq()
        self.learn_df = learn_df
        self._clock = clock
        self._max_df_terms = max_df_terms
        self._watches: dict[str, _Watch] = {}
        self._features: OrderedDict[str, StoryFeatures] = (
            OrderedDict()
        )  # recent items, features computed once
        self._latest_at = -math.inf
        self._commits = 0

    # -- whole pipeline ------------------------------------------------------------------------------------

    def assign(self, watch: str, item_id: str, item: Item) -> tuple[str, bool]:
        """The story of ``item`` in ``watch`` and whether this item opened it.

        A re-sighting of an item already assigned in this watch returns its story and False.
        """
        known = self._watch(watch).items.get(item_id)
        if known is not None:
            return known, False
        features = self.features(item_id, item)
        return self.assign_features(watch, item_id, features)

    def features(self, item_id: str, item: Item) -> StoryFeatures:
        """Features of an item, computed and learned from once however many watches it matches."""
        cached = self._features.get(item_id)
        if cached is not None:
            return cached
        features = item_features(item, self.df if self.df.n_docs else None, self.params)
        if self.learn_df:
            self.df.add(features.terms)
            if len(self.df.counts) > self._max_df_terms:
                self.df.prune(self._max_df_terms * 4 // 5)
        self._features[item_id] = features
        if len(self._features) > 4096:
            self._features.popitem(last=False)
        return features

    def assign_features(self, watch: str, item_id: str, features: StoryFeatures) -> tuple[str, bool]:
        """Assign precomputed features (e.g. from a worker pool)."""
        at = features.published if features.published is not None else self._clock()
        candidates = self.candidates(watch, features, at)
        story_id = assign(features, candidates, self.params)
        return self.commit(watch, item_id, features, at, story_id)

    # -- StoryState ------------------------------------------------------------------------------------------

    def candidates(self, watch: str, features: StoryFeatures, at: float) -> Candidates:
        p = self.params
        w = self._watch(watch)
        band_hits: Counter[str] = Counter()
        for key in features.bands:
            sid = w.bands.get(key)
            if sid is not None:
                band_hits[sid] += 1
        # Rank term-sharing stories by the item weight they share, reading only the most recent postings
        # of each term, as a ZREVRANGEBYSCORE ... LIMIT would.
        shared: dict[str, float] = {}
        lo = at - p.window_s
        for term, weight in features.vector[: p.query_terms]:
            plist = w.postings.get(term)
            if not plist:
                continue
            for n, sid in enumerate(reversed(plist)):
                if n >= p.postings_per_term:
                    break
                if plist[sid] >= lo:
                    shared[sid] = shared.get(sid, 0.0) + weight
        ranked = heapq.nlargest(p.max_candidates, shared, key=shared.__getitem__)
        ids = list(dict.fromkeys([*band_hits, *ranked]))
        stories = [w.stories[sid] for sid in ids if sid in w.stories]
        return Candidates(at=at, band_hits=dict(band_hits), stories=stories)

    def commit(
        self, watch: str, item_id: str, features: StoryFeatures, at: float, story_id: str | None
    ) -> tuple[str, bool]:
        p = self.params
        w = self._watch(watch)
        existing = w.stories.get(story_id) if story_id is not None else None
        if existing is None:
            story_id = item_id
            record = new_story(story_id, features, at, p)
            is_new = True
        else:
            record = existing.joined(features, at, p)
            story_id = existing.story_id
            is_new = False
        w.stories[story_id] = record
        w.items[item_id] = story_id
        for key in features.bands:
            w.bands[key] = story_id
        # Re-post the story under its current top terms, moved to the recent end of each list.
        old_terms = w.posted.get(story_id, ())
        new_terms = tuple(
            t for t, _ in heapq.nlargest(p.index_terms, record.centroid.items(), key=itemgetter(1))
        )
        for term in old_terms:
            plist = w.postings.get(term)
            if plist is not None:
                plist.pop(story_id, None)
        for term in new_terms:
            plist = w.postings.setdefault(term, OrderedDict())
            plist[story_id] = record.latest
        w.posted[story_id] = new_terms
        self._latest_at = max(self._latest_at, at)
        self._commits += 1
        if self._commits % 1000 == 0:
            self.expire()
        return story_id, is_new

    # -- housekeeping ----------------------------------------------------------------------------------------

    def expire(self) -> None:
        """Forget stories that no item can join any more (as TTLs would in a store)."""
        horizon = self._latest_at - 2 * self.params.window_s  # one window of slack for late-dated items
        for w in self._watches.values():
            dead = [sid for sid, s in w.stories.items() if s.latest < horizon]
            for sid in dead:
                del w.stories[sid]
                for term in w.posted.pop(sid, ()):
                    plist = w.postings.get(term)
                    if plist is not None:
                        plist.pop(sid, None)
                        if not plist:
                            del w.postings[term]
            if dead:
                gone = set(dead)
                w.bands = {k: v for k, v in w.bands.items() if v not in gone}
                w.items = {k: v for k, v in w.items.items() if v not in gone}

    def stories(self, watch: str) -> Mapping[str, StoryRecord]:
        return self._watch(watch).stories

    def _watch(self, watch: str) -> _Watch:
        w = self._watches.get(watch)
        if w is None:
            w = self._watches[watch] = _Watch()
        return w
