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
import re
import time
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
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
    name_boost: float = 2.0  # weight multiplier for capitalised mid-sentence words and acronyms
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
_TOKEN_RE = re.compile(r"[^\W_]+(?:['’.][^\W_]+)*", re.UNICODE)
_SENTENCE_END = frozenset(".!?:\n\r\t|•")


def tokenize(text: str) -> list[tuple[str, bool]]:
    """Split text into (term, is_name) pairs; stop words and single characters are dropped.

    A name is a capitalised word that does not start a sentence, or an acronym ("U.S.", "NATO"); names are not
    stemmed ("Hamas" must not become "hama").  Other words lose a plural "s" so "hostages" meets "hostage".
    """
    out: list[tuple[str, bool]] = []
    prev_end = 0
    for m in _TOKEN_RE.finditer(text):
        word = m.group()
        start = m.start()
        sentence_start = prev_end == 0 or not _SENTENCE_END.isdisjoint(text[prev_end:start])
        prev_end = m.end()
        if word.endswith(("'s", "’s")):
            word = word[:-2]
        if "." in word:
            word = word.replace(".", "")
        if not word:
            continue
        first = word[0]
        if first.isdigit():
            if len(word) >= 2 and word.isdigit():
                out.append((word, False))
            continue
        acronym = len(word) >= 2 and word.isupper()
        lower = word.lower()
        if acronym:
            out.append((lower, True))
            continue
        if lower in _STOPWORDS or len(lower) < 2:
            continue
        if first.isupper() and not sentence_start:
            out.append((lower, True))
            continue
        if len(lower) > 4 and lower.endswith("ies"):
            lower = lower[:-3] + "y"
        elif len(lower) > 3 and lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
            lower = lower[:-1]
        out.append((lower, False))
    return out


# One permutation table shared by every fingerprint, so band keys from different processes agree.
_PERMUTATIONS: dict[int, Any] = {}


def _permutations(num_perm: int) -> Any:
    perms = _PERMUTATIONS.get(num_perm)
    if perms is None:
        perms = _PERMUTATIONS[num_perm] = MinHash(num_perm=num_perm, seed=1).permutations
    return perms


def _band_keys(words: Sequence[str], params: StoryParams) -> tuple[str, ...]:
    n = params.shingle
    if len(words) < n:
        if not words:
            return ()
        shingles = {" ".join(words).encode()}
    else:
        shingles = {" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)}
    # crc32 as the base hash: the affine permutations on top supply the independence MinHash needs, and it
    # is four times cheaper than the default sha1 on a full article.
    mh = MinHash(
        num_perm=params.num_perm,
        permutations=_permutations(params.num_perm),
        scheme="affine32",
        hashfunc=zlib.crc32,
    )
    mh.update_batch(list(shingles))
    rows = params.num_perm // params.bands
    values = np.asarray(mh.hashvalues, dtype=np.uint32)
    return tuple(f"{b}:{values[b * rows : (b + 1) * rows].tobytes().hex()}" for b in range(params.bands))


def item_features(item: Item, df: DocFreq | None, params: StoryParams = DEFAULT_PARAMS) -> StoryFeatures:
    """Compute an item's story features; pure, so it can run in a process pool.

    ``df`` None weighs every term as if equally rare (a cold start); the caller learns ``df`` from
    ``features.terms`` afterwards.
    """
    text = item.text
    tokens = tokenize(text)
    # Shingles over the plain lowercase word sequence: punctuation, case and stop words all still count, as
    # they do in a verbatim copy.
    words = [w.lower() for w in _TOKEN_RE.findall(text)]
    tf: Counter[str] = Counter()
    names: set[str] = set()
    for term, is_name in tokens:
        tf[term] += 1
        if is_name:
            names.add(term)
    weights: dict[str, float] = {}
    for term, count in tf.items():
        w = 1.0 + math.log(count)
        if df is not None:
            w *= df.idf(term)
        if term in names:
            w *= params.name_boost
        elif term[0].isdigit():
            w *= params.number_boost
        weights[term] = w
    top = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[: params.top_k]
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    published = item.published.timestamp() if item.published is not None else None
    return StoryFeatures(
        bands=_band_keys(words, params),
        vector=tuple((t, round(w / norm, 5)) for t, w in top),
        terms=tuple(sorted(tf)),
        published=published,
    )


def cosine(vector: Sequence[tuple[str, float]], centroid: Mapping[str, float], centroid_norm: float) -> float:
    """Cosine of a normalised item vector and a story centroid of the given norm."""
    if centroid_norm <= 0.0:
        return 0.0
    dot = 0.0
    for term, w in vector:
        c = centroid.get(term)
        if c is not None:
            dot += w * c
    return dot / centroid_norm


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
        return json.dumps(
            {"id": self.story_id, "first": self.first, "latest": self.latest, "size": self.size,
             "centroid": {t: round(w, 5) for t, w in self.centroid.items()}},
            separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def from_json(cls, raw: str | bytes) -> StoryRecord:
        d = json.loads(raw)
        centroid = {str(k): float(v) for k, v in d["centroid"].items()}
        return cls(d["id"], d["first"], d["latest"], d["size"], centroid, _norm(centroid))


def _norm(centroid: Mapping[str, float]) -> float:
    return math.sqrt(sum(w * w for w in centroid.values()))


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
    for story in in_window:
        sim = cosine(features.vector, story.centroid, story.norm)
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
