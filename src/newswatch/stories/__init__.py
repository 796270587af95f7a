"""Stories: which story of a watch a matched item belongs to.

The package owns the story algorithm and nothing store-specific:

* ``sketch`` — :func:`~newswatch.stories.sketch.sketch`, run in worker processes: terms, counts and MinHash
  band keys (imported on its own: the recording process never loads the MinHash library); ``tokens`` the
  tokeniser;
* ``features`` — :func:`weigh`: the TF-IDF salient-term vector under the learned document frequencies;
* ``docfreq`` — the learned document frequencies, bounded;
* ``record`` — what a story's record holds and how it absorbs an item;
* ``decide`` — the pure decision: near-duplicate, else same event, else a new story;
* ``plan`` — what a store reads for an item (:func:`story_query`) and the placement it applies
  (:class:`BatchStories`), items of one batch seeing the stories earlier items opened.

Stores read candidates and apply placements atomically; they never decide (see ``newswatch.store``).
"""

from newswatch.stories.decide import Candidates, decide
from newswatch.stories.docfreq import DocFreq
from newswatch.stories.features import ItemSketch, StoryFeatures, weigh
from newswatch.stories.params import DEFAULT_PARAMS, StoryParams
from newswatch.stories.plan import BatchStories, Placement, StoryQuery, StoryView, rank, story_query
from newswatch.stories.record import StoryRecord, new_story
from newswatch.stories.tokens import tokenize

__all__ = [
    "DEFAULT_PARAMS",
    "BatchStories",
    "Candidates",
    "DocFreq",
    "ItemSketch",
    "Placement",
    "StoryFeatures",
    "StoryParams",
    "StoryQuery",
    "StoryRecord",
    "StoryView",
    "decide",
    "new_story",
    "rank",
    "story_query",
    "tokenize",
    "weigh",
]
