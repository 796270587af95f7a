"""Stories: which story of a watch a matched item belongs to, decided by a small learned model.

The package owns the story algorithm and nothing store-specific:

* ``tokens`` — terms of news text with their kind (word, name, number, year);
* ``sketch`` — :func:`~newswatch.stories.sketch.sketch`, run in worker processes: terms, counts, title terms
  and MinHash band keys (imported on its own: the recording process never loads the MinHash library);
* ``profile`` — :func:`weigh`: the :class:`ItemProfile` (body and title TF-IDF, names and numbers weighed by
  their information, years) under the learned document frequencies, for one watch without the words it
  matched (:func:`weigh_in_watch`); ``docfreq`` those frequencies, bounded;
* ``record`` — what a story's record holds and how it absorbs an item;
* ``signals`` — the evidence that an item belongs to a candidate story, as 15 numbers;
* ``model`` — the fitted weights (``weights.json``) and the pure decision: join the best-scoring candidate
  when its probability reaches the threshold, else open a new story; :func:`explain` says why;
* ``plan`` — what a store reads for an item (:func:`story_query`) and the placement it applies
  (:class:`BatchStories`), items of one batch seeing the stories earlier items opened.

Stores read candidates and apply placements atomically; they never decide (see ``newswatch.store``).
"""

from newswatch.stories.docfreq import DocFreq
from newswatch.stories.model import (
    Candidate,
    Decision,
    StoryModel,
    decide,
    default_model,
    explain,
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
    "explain",
    "load_model",
    "rank",
    "story_query",
    "weigh",
    "weigh_in_watch",
]
