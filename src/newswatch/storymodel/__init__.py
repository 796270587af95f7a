"""The learned story model: item profiles, story records, pair signals and the fitted join / new-story decision.

Self-contained and pure: the stores look candidates up and apply a :class:`Placement`; everything the decision
needs travels in an :class:`ItemProfile` (computed once per item, in a worker) and in the candidates'
:class:`StoryRecord` JSON blobs.  Weights are fitted by ``benchmarks/train_stories.py`` and shipped as
``weights.json``; applying them needs only the standard library.
"""

from newswatch.storymodel.model import (
    Candidate,
    Decision,
    Placement,
    Scored,
    StoryModel,
    decide,
    default_model,
    explain,
    place,
)
from newswatch.storymodel.profile import DocFreqLike, ItemProfile, ModelParams, item_profile
from newswatch.storymodel.record import StoryRecord
from newswatch.storymodel.signals import SIGNALS, ItemSignals

__all__ = [
    "SIGNALS",
    "Candidate",
    "Decision",
    "DocFreqLike",
    "ItemProfile",
    "ItemSignals",
    "ModelParams",
    "Placement",
    "Scored",
    "StoryModel",
    "StoryRecord",
    "decide",
    "default_model",
    "explain",
    "item_profile",
    "place",
]
