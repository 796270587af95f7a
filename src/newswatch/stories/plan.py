"""Placing the items of one batch in the stories of one watch: the decision plus what the store must write.

Owns the two halves of the store contract for stories.  :func:`story_query` says what a store reads for an item
(its band keys, its query terms, the window), and the store answers with a :class:`StoryView` (which story each
band key points at, and the candidate records it ranked).  :meth:`BatchStories.place` then decides, purely,
and returns a :class:`Placement` the store applies as it is.  Items of one batch see the stories that earlier
items of the same batch opened or changed (an overlay over what was read), so SQLite and Redis, which both read
a batch once and apply it once, decide the same way for the same stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from newswatch.stories.explain import reason
from newswatch.stories.model import Candidate, Decision, StoryModel, decide
from newswatch.stories.params import StoryParams
from newswatch.stories.profile import ItemProfile
from newswatch.stories.record import StoryRecord, decoded

__all__ = ["BatchStories", "Placement", "StoryQuery", "StoryView", "rank", "story_query"]


@dataclass(frozen=True, slots=True)
class StoryQuery:
    """What a store reads for one item in one watch.

    For each band key, the story it points at; for each query term (in order), the ``per_term`` most recent
    stories posted under it whose latest item is at or after ``since`` (ties: the larger story id first); the
    stories ranked by the sum of the query weights of the terms they were found under (ties: the smaller id
    first), ``limit`` of them kept; and the records of the band-hit stories (in band order) followed by the
    ranked ones, each once.
    """

    bands: tuple[str, ...]
    terms: tuple[tuple[str, float], ...]
    since: float
    per_term: int
    limit: int


@dataclass(frozen=True, slots=True)
class StoryView:
    """A store's answer to a :class:`StoryQuery`."""

    band_sids: tuple[str | None, ...]  # aligned with the query's bands
    records: tuple[str, ...]  # JSON records, in the query's order


@dataclass(frozen=True, slots=True)
class Placement:
    """What the store writes for one item placed in one watch's story."""

    watch: str
    story_id: str
    is_new: bool
    record: StoryRecord
    bands: tuple[str, ...]  # band keys that now point at the story
    unpost: tuple[str, ...]  # terms the story is no longer indexed under
    post: tuple[str, ...]  # terms the story is indexed under, scored by ``record.latest``
    expires: float  # epoch seconds after which no item can join the story any more
    trim: float  # postings older than this (two windows before the item) leave the terms posted to
    reason: str = ""  # one line saying why (see newswatch.stories.explain.reason)
    related: StoryRecord | None = None  # a new story's possibly related earlier story


def story_query(features: ItemProfile, at: float, params: StoryParams) -> StoryQuery:
    return StoryQuery(
        bands=features.bands,
        terms=tuple(features.query_terms(params.query_terms)),
        since=at - params.window_s,
        per_term=params.postings_per_term,
        limit=params.max_candidates,
    )


@dataclass(slots=True)
class _Overlay:
    """The stories of one watch that earlier items of this batch opened or changed."""

    records: dict[str, StoryRecord] = field(default_factory=dict)  # in order of first change
    bands: dict[str, str] = field(default_factory=dict)
    posted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)  # story id → its place in ``records``
    # term → the stories posted under it at some point of the batch (a superset of ``posted``'s: each is
    # checked against ``posted`` again), so an item reads the few stories sharing its terms, not every one.
    by_term: dict[str, set[str]] = field(default_factory=dict)

    def change(self, sid: str, record: StoryRecord, post: tuple[str, ...]) -> None:
        if sid not in self.records:
            self.order[sid] = len(self.order)
        self.records[sid] = record
        self.posted[sid] = post
        for term in post:
            self.by_term.setdefault(term, set()).add(sid)


class BatchStories:
    """Story decisions for one batch: one instance per batch, items placed in batch order.

    ``explain``: keep each placement's :class:`~newswatch.stories.model.Decision` in :attr:`decisions`, keyed by
    (watch, the id of the story the item would open), for ``newswatch replay --explain``.  The dict is shared
    with :meth:`fresh` copies and emptied by them, so after a store call it holds the decisions of the batch
    as it was finally applied.
    """

    def __init__(
        self, by_watch: Mapping[str, StoryModel], default: StoryModel, *, explain: bool = False
    ) -> None:
        self.by_watch = by_watch  # watches whose story window differs from the default
        self.default = default
        self.explain = explain
        self.decisions: dict[tuple[str, str], Decision] = {}
        self._overlays: dict[str, _Overlay] = {}

    def fresh(self) -> BatchStories:
        """The same models with nothing decided yet (for a batch read and decided again)."""
        again = BatchStories(self.by_watch, self.default, explain=self.explain)
        self.decisions.clear()
        again.decisions = self.decisions
        return again

    def model(self, watch: str) -> StoryModel:
        return self.by_watch.get(watch, self.default)

    def query(self, watch: str, features: ItemProfile, at: float) -> StoryQuery:
        return story_query(features, at, self.model(watch).params)

    def place(
        self,
        watch: str,
        new_id: str,
        features: ItemProfile,
        at: float,
        view: StoryView,
        now: float,
        *,
        title: str = "",
        url: str = "",
    ) -> Placement:
        """Decide the story of one item in ``watch`` (``new_id`` names it if it opens one; ``title`` and
        ``url``: the item's, kept by a story it opens)."""
        m = self.model(watch)
        p = m.params
        overlay = self._overlays.setdefault(watch, _Overlay())
        candidates = self._candidates(features, at, view, overlay, p)
        decision = decide(features, candidates, at, m)
        if self.explain:
            self.decisions[(watch, new_id)] = decision
        chosen = decision.story_id
        existing = next((c.record for c in candidates if c.record.story_id == chosen), None)
        old_terms: tuple[str, ...]
        if existing is None:
            record, old_terms = StoryRecord.new(new_id, features, at, p, title=title, url=url), ()
        else:
            record, old_terms = existing.absorb(features, at, p), tuple(existing.index_terms(p.index_terms))
        post = tuple(record.index_terms(p.index_terms))
        sid = record.story_id
        overlay.change(sid, record, post)
        for band in features.bands:
            overlay.bands[band] = sid
        return Placement(
            watch=watch,
            story_id=sid,
            is_new=existing is None,
            record=record,
            bands=features.bands,
            unpost=tuple(t for t in old_terms if t not in post),
            post=post,
            expires=max(now, record.latest) + 2 * p.window_s,
            trim=at - 2 * p.window_s,
            reason=reason(decision),
            related=decision.best if decision.related is not None else None,
        )

    def _candidates(
        self, features: ItemProfile, at: float, view: StoryView, overlay: _Overlay, p: StoryParams
    ) -> list[Candidate]:
        band_hits: dict[str, int] = {}
        for band, read in zip(features.bands, view.band_sids, strict=True):
            sid = overlay.bands.get(band, read)
            if sid is not None:
                band_hits[sid] = band_hits.get(sid, 0) + 1
        stories: dict[str, StoryRecord] = {}
        for raw in view.records:
            try:
                record = decoded(raw)
            except ValueError:
                continue  # a record of an earlier format: no candidate; it expires unread
            stories[record.story_id] = overlay.records.get(record.story_id, record)
        if overlay.records:
            since = at - p.window_s
            query = set(features.body_terms[: p.query_terms])
            # The overlay's stories that hit a band or were posted under a query term, in overlay order: the
            # same stories, in the same order, as a scan of every story of the overlay would add.
            maybe = {sid for sid in band_hits if sid in overlay.order}
            for term in query:
                maybe.update(overlay.by_term.get(term, ()))
            for sid in sorted(maybe, key=overlay.order.__getitem__):
                if sid in stories:
                    continue
                record = overlay.records[sid]
                shares_term = record.latest >= since and not query.isdisjoint(overlay.posted[sid])
                if sid in band_hits or shares_term:
                    stories[sid] = record
        return [Candidate(r, band_hits.get(sid, 0)) for sid, r in stories.items()]


def rank(band_sids: tuple[str | None, ...], postings: list[list[str]], query: StoryQuery) -> list[str]:
    """The story ids whose records answer ``query``, given what the store read (see :class:`StoryQuery`).

    ``postings[i]`` are the story ids found under ``query.terms[i]``, newest first.  The Redis store does the
    same ranking inside its read script, so the two stores fetch the same records.
    """
    shared: dict[str, float] = {}
    for (_, weight), sids in zip(query.terms, postings, strict=True):
        for sid in sids:
            shared[sid] = shared.get(sid, 0.0) + weight
    ranked = sorted(shared, key=lambda sid: (-shared[sid], sid))[: query.limit]
    return list(dict.fromkeys([*(s for s in band_sids if s is not None), *ranked]))
