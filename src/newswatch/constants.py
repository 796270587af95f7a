"""Every key prefix, TTL and default limit in one place, so stores, workers and docs agree."""

from __future__ import annotations

# Store key layout (Redis; the SQLite store uses the same names as table keys).
KEY_PREFIX = "nw:"
ITEM_KEY_PREFIX = KEY_PREFIX + "key:"  # identity key (guid:/url: hash) -> item id
ITEM_PREFIX = KEY_PREFIX + "item:"  # item id -> hash of text fingerprints and longest text length
ALERTED_PREFIX = KEY_PREFIX + "alerted:"  # watch|item id -> story id, once the watch reported it
FEED_PREFIX = KEY_PREFIX + "feed:"  # feed url -> fetch state (validators, errors, next poll)
STORY_PREFIX = KEY_PREFIX + "story:"  # watch + "|rec:"/"|band:"/"|term:" -> story records and indexes
DF_KEY = KEY_PREFIX + "df"  # hash term -> number of distinct items containing it
DF_DOCS_KEY = KEY_PREFIX + "df:docs"  # number of distinct items counted in DF_KEY
OUTBOX_SEQ_KEY = KEY_PREFIX + "outbox:seq"  # counter: global queueing order
OUTBOX_ENTRY_PREFIX = KEY_PREFIX + "outbox:e:"  # seq -> hash(data, attempts, not_before)
OUTBOX_QUEUE_PREFIX = KEY_PREFIX + "outbox:q:"  # target -> sorted set of seqs
OUTBOX_TARGETS_KEY = KEY_PREFIX + "outbox:targets"  # set of targets with queued entries
OUTBOX_PARKED_KEY = KEY_PREFIX + "outbox:parked"  # list of entries that can never be delivered, with reasons
THREAD_PREFIX = KEY_PREFIX + "thread:"  # target|watch|story -> Slack ts of the story's parent message
LEASE_PREFIX = KEY_PREFIX + "lease:"  # name -> holder (feed polls, outbox queues)
SLOT_PREFIX = KEY_PREFIX + "slot:"  # paced channel -> next free send time (ms)
SCHEDULE_KEY = KEY_PREFIX + "schedule"  # sorted set: feed url -> epoch seconds it is next due
WINDOW_PREFIX = KEY_PREFIX + "win:"  # name:window index -> count (flood control)

# Time to live of dedupe state: how long an item is remembered after it was last seen.
DEFAULT_SEEN_TTL_S = 30 * 24 * 3600
DEFAULT_MAX_ITEM_AGE_S = 3 * 24 * 3600
DEFAULT_FEED_INTERVAL_S = 5 * 60

# Fetch bounds (each download is bounded in time, bytes, decompressed bytes and redirects).
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_TOTAL_TIMEOUT_S = 30.0
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_CONCURRENCY = 64
DEFAULT_PER_HOST_CONCURRENCY = 4

# Slack
DEFAULT_SLACK_BASE_URL = "https://slack.com/api/"
SNIPPET_CHARS = 280

# Matching: what a match *shows* is capped, never what it decides (issue 11).  An item repeating a term
# thousands of times is matched on every occurrence, but its terms, snippet and explanation are built from the
# first occurrences in text order: at most this many per query clause, and this many per watch in all.
MAX_SHOWN_HITS_PER_CLAUSE = 50
MAX_SHOWN_HITS = 200
# Shouting (all-caps text, where capitals are no evidence of an acronym; see match/shouting.py): a run of
# words without lower-case letters shouts when it has this many words with capitals, this many of them with
# at least SHOUT_LONG_WORD letters.
SHOUT_MIN_WORDS = 3
SHOUT_MIN_LONG_WORDS = 2
SHOUT_LONG_WORD = 4

# Tracking parameters removed from URLs before they identify an item.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_hsenc",
        "_hsmi",
        "ref_src",
        "cmpid",
        "ocid",
    }
)
TRACKING_PARAM_PREFIXES = ("utm_",)

# Story grouping: learned document frequencies are used once this many distinct matched items were seen.
MIN_DOC_FREQ_DOCS = 200
