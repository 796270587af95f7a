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

# Config files (config.py, configyaml.py): what a YAML file may cost before it is refused.  A real config is a
# few levels deep and uses aliases, if at all, to share a list or two; an alias bomb (nested aliases, each use a
# full copy) grows exponentially and is refused once its copies pass the budget, before anything is expanded.
MAX_CONFIG_DEPTH = 64  # nesting levels
MAX_CONFIG_ALIAS_NODES = 50_000  # nodes that aliases may copy in one file, over the nodes written out
