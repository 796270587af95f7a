"""Document frequencies learned from the stream: how rare, hence how telling, each term is.

Owns the in-memory counts a recording process weighs terms with, and their bound.  Counts are learned once
per distinct matched item and persisted by the store in batches (:meth:`DocFreq.take_pending`), so the hot
path never writes one row per term.  A batch is weighed under :meth:`DocFreq.with_batch`: what was learned so
far plus the batch's own items, so even a fresh deployment's first batch knows which of its terms are common.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from newswatch import constants as C

__all__ = ["BatchFreq", "DocFreq"]


class DocFreq:
    """Term -> number of distinct items containing it, plus the number of items counted.

    Memory is bounded: past ``max_terms`` terms the rarest fifth is forgotten (a term seen in one or two
    documents says little, and a new event's names come back quickly).
    """

    __slots__ = ("_pending", "_pending_docs", "counts", "max_terms", "n_docs")

    def __init__(
        self, counts: Mapping[str, int] | None = None, n_docs: int = 0, *, max_terms: int = C.MAX_DF_TERMS
    ) -> None:
        self.counts: dict[str, int] = dict(counts or {})
        self.n_docs = n_docs
        self.max_terms = max_terms
        self._pending: Counter[str] = Counter()
        self._pending_docs = 0
        self.prune()

    def add(self, terms: Iterable[str]) -> None:
        """Count one document made of these distinct terms."""
        counts = self.counts
        pending = self._pending
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
            pending[term] += 1
        self.n_docs += 1
        self._pending_docs += 1
        if len(counts) > self.max_terms:
            self.prune()

    def with_batch(self, docs: Iterable[Iterable[str]]) -> BatchFreq:
        """These counts plus one document per entry of ``docs`` (distinct terms each), for weighing that batch:
        counts only for the batch's own terms, the only ones its items look up.  Nothing is learned."""
        extra: Counter[str] = Counter()
        n = 0
        for terms in docs:
            extra.update(terms)
            n += 1
        get = self.counts.get
        return BatchFreq({t: get(t, 0) + c for t, c in extra.items()}, self.n_docs + n)

    def prune(self) -> None:
        """Keep at most ``max_terms`` terms: past the bound, keep the most frequent four fifths."""
        if len(self.counts) > self.max_terms:
            keep = self.max_terms * 4 // 5
            ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:keep]
            self.counts = dict(ranked)
            if len(self._pending) > keep:
                self._pending = Counter({t: n for t, n in self._pending.items() if t in self.counts})

    @property
    def pending(self) -> int:
        """Documents counted since the last :meth:`take_pending`."""
        return self._pending_docs

    def take_pending(self) -> tuple[dict[str, int], int]:
        """The increments learned since the last call (for the store), and forget them."""
        out, docs = dict(self._pending), self._pending_docs
        self._pending = Counter()
        self._pending_docs = 0
        return out, docs

    def restore_pending(self, increments: Mapping[str, int], docs: int) -> None:
        """Put back increments the store could not take, so they are written with the next batch."""
        self._pending.update(increments)
        self._pending_docs += docs


class BatchFreq:
    """A read-only snapshot of document frequencies for one batch's terms (see :meth:`DocFreq.with_batch`)."""

    __slots__ = ("counts", "n_docs")

    def __init__(self, counts: Mapping[str, int], n_docs: int) -> None:
        self.counts = counts
        self.n_docs = n_docs
