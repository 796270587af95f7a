"""Stories: which story of a watch a matched item belongs to, decided by a small learned model.

The package owns the story algorithm and nothing store-specific:

* ``tokens`` — terms of news text with their kind (word, name, number, year);
* ``sketch`` — :func:`~newswatch.stories.sketch.sketch`, run in worker processes: terms, counts, title terms
  and MinHash band keys (imported on its own: the recording process never loads the MinHash library);
* ``lexicon`` — the item's language (fastText's language ID), its function words and prior document
  frequencies (wordfreq), used by ``sketch`` in the workers;
* ``profile`` — :func:`weigh`: the :class:`ItemProfile` (body and title TF-IDF, the informative terms, names and
  numbers weighed by their information, years) under the document frequencies learned from the stream blended
  with the language's prior, for one watch without the words it matched (:func:`weigh_in_watch`); ``docfreq``
  the learned frequencies, bounded;
* ``record`` — what a story's record holds (its first and latest members) and how it takes in an item;
* ``signals`` — the content floor and the evidence that an item tells the same event as a story's member;
* ``model`` — the fitted weights (``weights.json``) and the pure decision: join the best-scoring candidate
  when its probability reaches the threshold, open a new story "possibly related" to it a little below, else
  open a new story; ``explain`` says why, in one line (:func:`reason`) or in full (:func:`details`);
* ``plan`` — what a store reads for an item (:func:`story_query`) and the placement it applies
  (:class:`BatchStories`), items of one batch seeing the stories earlier items opened.

Stores read candidates and apply placements atomically; they never decide (see ``newswatch.store``).
"""

from newswatch.stories.docfreq import DocFreq
from newswatch.stories.explain import details, reason
from newswatch.stories.model import (
    Candidate,
    Decision,
    StoryModel,
    decide,
    default_model,
    load_model,
)
from newswatch.stories.params import StoryParams
from newswatch.stories.plan import BatchStories, Placement, StoryQuery, StoryView, rank, story_query
from newswatch.stories.profile import ItemProfile, ItemSketch, weigh, weigh_in_watch
from newswatch.stories.record import StoryRecord
from newswatch.stories.signals import SIGNALS

__all__ = [
    "SIGNALS",
    "BatchStories",
    "Candidate",
    "Decision",
    "DocFreq",
    "ItemProfile",
    "ItemSketch",
    "Placement",
    "StoryModel",
    "StoryParams",
    "StoryQuery",
    "StoryRecord",
    "StoryView",
    "decide",
    "default_model",
    "details",
    "load_model",
    "rank",
    "reason",
    "story_query",
    "weigh",
    "weigh_in_watch",
]
