"""Every key prefix, TTL and default limit in one place, so stores, workers and docs agree."""

from __future__ import annotations

from datetime import UTC, datetime

# Store key layout (Redis; the SQLite store uses the same names as table keys).
KEY_PREFIX = "nw:"
ITEM_KEY_PREFIX = KEY_PREFIX + "key:"  # identity key (guid:/link:/url:/ftext:/text: hash) -> item id
ITEM_PREFIX = KEY_PREFIX + "item:"  # item id -> hash of text fingerprints and longest text length
# Text fingerprints kept per item, the most recently first seen: a live item whose text changes every poll
# ("1234 comments so far") stores a bounded set (SQLite keeps this many, Redis between this and twice as many).
ITEM_TEXTS_KEPT = 32
FEED_PREFIX = KEY_PREFIX + "feed:"  # feed url -> fetch state (validators, errors, next poll)
# One watch's state, all under the hash tag {watch} (one cluster slot per watch): "alerted:<item id>" -> story id
# once the watch reported the item, "rec:"/"band:"/"term:" story records and indexes, "ver" its version.
WATCH_PREFIX = KEY_PREFIX + "w:"
DF_KEY = KEY_PREFIX + "df:terms"  # sorted set term -> number of distinct matched items containing it
DF_DOCS_KEY = KEY_PREFIX + "df:docs"  # number of distinct items counted in DF_KEY
OUTBOX_SEQ_KEY = KEY_PREFIX + "outbox:seq"  # counter: global queueing order
HEALTH_KEY = KEY_PREFIX + "health"  # written by each /healthz probe (Redis): the store can write
OUTBOX_ENTRY_PREFIX = KEY_PREFIX + "outbox:e:"  # seq -> hash(data, attempts, not_before)
OUTBOX_QUEUE_PREFIX = KEY_PREFIX + "outbox:q:"  # target -> sorted set of seqs
OUTBOX_TARGETS_KEY = KEY_PREFIX + "outbox:targets"  # set of targets with queued entries
OUTBOX_PARKED_KEY = KEY_PREFIX + "outbox:parked"  # list of entries that can never be delivered, with reasons
THREAD_PREFIX = KEY_PREFIX + "thread:"  # target|watch|story -> Slack ts of the story's parent message
LEASE_PREFIX = KEY_PREFIX + "lease:"  # name -> holder (outbox queues), expiring with the lease
# name -> how many times the lease was granted: the epoch of the latest grant, that fenced writes are checked
# against (store.base.Fence).  Never expires: a lapsed lease taken anew must get a higher epoch.
FENCE_PREFIX = KEY_PREFIX + "fence:"
ONCE_PREFIX = KEY_PREFIX + "once:"  # name -> 1 while remembered (Store.remember_once), expiring with it
SLOT_PREFIX = KEY_PREFIX + "slot:"  # paced channel -> next free send time (ms)
SCHEDULE_KEY = KEY_PREFIX + "schedule"  # sorted set: feed url -> epoch seconds it is next due
WORKERS_KEY = KEY_PREFIX + "workers"  # hash: worker id -> JSON {generation, until} (config generations)
WINDOW_PREFIX = KEY_PREFIX + "win:"  # name:window index -> count (flood control)
# Mutes and snoozes set from Slack, per channel target under the hash tag {target}: a hash mute id -> JSON,
# each with its own expiry (dropped when read after it), the key expiring with its longest-lived mute.
MUTES_PREFIX = KEY_PREFIX + "mutes:"
MUTES_TARGETS_KEY = KEY_PREFIX + "mutes:targets"  # set of targets that hold mutes (for `newswatch mutes`)

# Time to live of dedupe state: how long an item is remembered after it was last seen.
DEFAULT_SEEN_TTL_S = 30 * 24 * 3600
DEFAULT_MAX_ITEM_AGE_S = 3 * 24 * 3600
DEFAULT_ARCHIVE_DAYS = 7  # daily archive files kept (archive_days)
# The decision record behind `newswatch why`: per item key, the latest this many notes (a fold, a match, a
# delivery…), each kept for seen_ttl; a note's text fields are cut to WHY_TEXT_CHARS.
WHY_NOTES_PER_KEY = 40
WHY_TEXT_CHARS = 300
WHY_PREFIX = KEY_PREFIX + "why:"  # Redis: item key -> list of JSON notes (newest last)
# Story timelines for the status pages (store/timeline.py): per story its latest this many reports, per watch
# its latest this many stories, each line kept for seen_ttl.
TIMELINE_PER_STORY = 100
TIMELINE_STORIES_PER_WATCH = 50
TIMELINE_PREFIX = KEY_PREFIX + "tl:"  # Redis: story id -> list of JSON report lines (newest last)
TIMELINE_WATCH_PREFIX = (
    KEY_PREFIX + "tlw:"
)  # Redis: watch -> sorted set story id -> time of its latest report
DEFAULT_FEED_INTERVAL_S = 5 * 60
DEFAULT_MAX_INTERVAL_S = 3600.0  # slowest a healthy, quiet feed is polled (schedule.max_interval)
DEFAULT_BACKOFF_CAP_S = (
    6 * 3600.0
)  # slowest a failing feed is retried; it is never given up (schedule.backoff_cap)
DEFAULT_FEED_DOWN_AFTER_S = 6 * 3600.0  # a feed failing this long raises one ops alert (ops.feed_down_after)
# An item date before this counts as missing (the item is dated when first seen): the Unix epoch in any zone is
# what a CMS writes for "no date", nothing in a feed was published before it, and dates near year 1 overflow
# the arithmetic of windows and ages.
EARLIEST_ITEM_DATE = datetime(1971, 1, 1, tzinfo=UTC)
# A date longer than this once its whitespace runs are squeezed is no date (the longest real one, a weekday
# and month written out with a zone name in brackets, is under 60): regexes and parsers see bounded text.
MAX_DATE_CHARS = 128

# Fetch bounds (each download is bounded in time, bytes, decompressed bytes and redirects).
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_TOTAL_TIMEOUT_S = 30.0
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_CONCURRENCY = 64
DEFAULT_PER_HOST_CONCURRENCY = 4

# Full text (feeds with `full_text: true`, feeds/article.py and fulltext.py).  An item whose text, title aside, is
# shorter than TEASER_CHARS is a teaser: when it is new, its link is fetched and the article extracted.  Pages are
# fetched PAGES_AT_ONCE at a time per feed (so at most that many bodies wait in memory for extraction), at most
# MAX_PAGES_PER_POLL per poll of one feed (the rest keep their teaser); the item keys whose page this process
# fetched lately are remembered (RECENT_PAGES), beside the store, so two feeds carrying one item fetch it once.
TEASER_CHARS = 500
PAGES_AT_ONCE = 8
# Bounds on the CPU stage (issue 21 point 4).  trafilatura costs about 1.5 s and 100 MB per MB of a big page (a
# 9.4 MB table: 15-30 s and 0.9-1.5 GB), so only the first MAX_EXTRACT_BYTES of a page are extracted (an
# article's text comes early in its page) and each page has PAGE_CPU_S of CPU time, after which the teaser is
# matched instead.  A whole task (one feed body parsed, matched and sketched; one chunk of pages; one replay
# chunk) has TASK_CPU_S, after which it fails its feed (or the replay) and the worker takes the next task.
MAX_EXTRACT_BYTES = 2 * 1024 * 1024
PAGE_CPU_S = 10.0
TASK_CPU_S = 120.0
MAX_PAGES_PER_POLL = 50
RECENT_PAGES = 10_000
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"

# The longest wait a Retry-After header (seconds or HTTP date) can impose on a feed or a Slack channel.
RETRY_AFTER_MAX_S = 3600.0

# Replay: a longer archive line is named and skipped without being read whole into memory.
MAX_ARCHIVE_LINE_BYTES = 1024 * 1024

# WebSub: subscriptions one process keeps (about one per pushed feed; the least active make room past it).
MAX_WEBSUB_SUBSCRIPTIONS = 10_000
# WebSub notifications whose body is read or handed on at once (each up to 10 MB); one more waits up to
# PUSH_WAIT_S for a place, then is answered 503 and the hub delivers it again later.
PUSH_BODIES_AT_ONCE = 4
PUSH_WAIT_S = 10.0

# Slack
DEFAULT_SLACK_BASE_URL = "https://slack.com/api/"
SNIPPET_CHARS = 280
# Slack's documented limits (Block Kit reference at docs.slack.dev, chat.postMessage), in "characters";
# newswatch counts UTF-16 code units, the stricter reading (an emoji outside the BMP counts 2).
SLACK_MAX_BLOCKS = 50  # blocks in one message
SLACK_SECTION_TEXT_MAX = 3000  # a section's text (also any text object's)
SLACK_SECTION_FIELDS_MAX = 10  # fields of one section
SLACK_FIELD_TEXT_MAX = 2000  # each field's text
SLACK_HEADER_TEXT_MAX = 150  # a header's plain_text
SLACK_CONTEXT_ELEMENTS_MAX = 10  # elements of one context block
SLACK_BUTTON_TEXT_MAX = 75
SLACK_BUTTON_URL_MAX = 3000
SLACK_BUTTON_VALUE_MAX = 2000
SLACK_ID_MAX = 255  # action_id, block_id
SLACK_MESSAGE_TEXT_MAX = 40_000  # a message's top-level `text`; longer is refused with msg_too_long
SLACK_LINK_URL_MAX = 3000  # a longer URL is shown as text rather than as a <url|label> link
# What newswatch stays under itself. Real Slack refuses well below its documented figures: msg_too_long
# near 4,000 characters of `text` (a python-slack-sdk maintainer in seratch/ChatGPT-in-Slack#102), and the
# undocumented msg_blocks_too_long near 12,000 characters of text across a message's blocks (bolt-js#2509).
SLACK_TEXT_BUDGET = 3000  # top-level text of a message, a thread reply, a plain-text fallback
SLACK_MESSAGE_BLOCKS_BUDGET = 10_000  # text across all blocks of one message
SLACK_TITLE_CHARS = 300  # an alert's title as shown
SLACK_LABEL_CHARS = 200  # a source or watch name as shown
SLACK_DIGEST_LINE_MAX = 1500  # one digest line, link included; a longer link is shown as plain text
SLACK_DIGEST_MAX_LINES = 40  # lines listed in one digest; the rest are counted ("… and 55 more")

# Slack actions (issue 16): the buttons on an alert, what they do, and how long their effects last.
SLACK_ACTION_MUTE_STORY = "newswatch.mute_story"
SLACK_ACTION_UNMUTE_STORY = "newswatch.unmute_story"
SLACK_ACTION_MUTE_SOURCE = "newswatch.mute_source"
SLACK_ACTION_UNMUTE_SOURCE = "newswatch.unmute_source"
SLACK_ACTION_SNOOZE_WATCH = "newswatch.snooze_watch"
SLACK_ACTION_UNSNOOZE_WATCH = "newswatch.unsnooze_watch"
SLACK_ACTIONS_PATH = "/slack/actions"  # on the http.listen server: Slack's interactivity request URL
SLACK_REPLAY_KEY = "slack-request:"  # + a handled request's signature, remembered for twice the age limit
SLACK_SIGNATURE_MAX_AGE_S = 300  # a signed request older (or newer) than this is refused (Slack's advice)
SLACK_ACTION_MAX_BYTES = 256 * 1024  # an interactivity request body; ours carry one alert message, ~15 KB
SLACK_ACTIONS_PER_REQUEST = 5  # actions read from one payload (a button click sends one)
SNOOZE_S = 24 * 3600.0  # "Snooze 24h"
MUTE_STORY_TTL_S = 30 * 24 * 3600.0  # a muted story stays muted this long (as long as its thread is kept)
MUTE_SOURCE_TTL_S = 90 * 24 * 3600.0  # a muted source stays muted until unmuted, or this long
MUTES_MAX = 10_000  # active mutes and snoozes in all; a click past it is refused (and logged)
MUTE_LABEL_CHARS = 200  # the title or source name kept with a mute, for `newswatch mutes`
# A click can come right after its alert was posted, before delivery wrote down the message (its thread state):
# the handler looks again this often, this many times, before it gives up editing the alert.
SLACK_ACTION_STATE_RETRIES = 8
SLACK_ACTION_STATE_WAIT_S = 0.25
# Socket Mode: the first connection must open within this long or the service does not start; a connection
# down longer than SOCKET_MODE_DOWN_S (slack-sdk reconnects meanwhile) makes /healthz name it.
SOCKET_MODE_CONNECT_S = 30.0
SOCKET_MODE_DOWN_S = 60.0
SOCKET_MODE_PING_S = (
    5.0  # slack-sdk's ping interval (its default); a dead connection is noticed after 4 pings
)

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

# Story document frequencies: terms kept in memory and in the store (the rarest are forgotten past it), and how
# often a process writes what it learned (documents counted, or seconds, whichever comes first).
MAX_DF_TERMS = 200_000
DF_FLUSH_DOCS = 500
DF_FLUSH_S = 30.0
REPLAY_BATCH = 200  # archive items per store call in `newswatch replay`
CYCLE_BATCH = 100  # items per store call when `run --once` records a whole cycle in publication order
ONCE_DELIVERY_S = 60.0  # the longest `run --once` keeps delivering (a dead worker's lease lasts 10 s)
DELIVERY_BACKOFF_BASE_S = 2.0  # a failed delivery waits this long, doubled per attempt, with jitter
DELIVERY_BACKOFF_CAP_S = 300.0
# Decoded story records remembered by a recording process (about 15 KB each): re-reads of unchanged stories.
STORY_RECORD_CACHE = 1024
EXPLAIN_CANDIDATES = 5  # candidate stories `newswatch replay --explain` prints per item and watch, best first

# Supervision of background tasks (delivery, polling, WebSub renewals, config reloads): a task that raises is
# restarted after an exponential, jittered back-off; it counts as healthy again once it ran this long clean.
SUPERVISE_BACKOFF_BASE_S = 1.0
SUPERVISE_BACKOFF_CAP_S = 60.0
SUPERVISE_STABLE_S = 10.0

# Delivery leases: one worker sends a queue at a time.  The lease is renewed every third of its life while a
# message is in flight; a send is cut this long before the lease could lapse unrenewed, and after
# DELIVERY_SEND_TIMEOUT_S in any case (a retryable failure).
DELIVERY_LEASE_S = 10.0
DELIVERY_LEASE_MARGIN_S = 1.0
DELIVERY_SEND_TIMEOUT_S = 30.0
# Ids of entries that failed in this process (their back-off holds here); the oldest are forgotten past this.
DELIVERY_FAILED_IDS_MAX = 10_000

# Apprise targets (notify.apprise): Apprise's clients block, so they run in a pool of this many threads; a
# call's socket timeouts (connect, read) end its thread, and the await gives up after APPRISE_TIMEOUT_S.  A record
# a service keeps failing (HTTP 5xx, unreachable) is parked after APPRISE_ATTEMPTS attempts with the reason.
APPRISE_THREADS = 4
APPRISE_CONNECT_S = 5.0
APPRISE_READ_S = 15.0
APPRISE_TIMEOUT_S = 25.0
APPRISE_ATTEMPTS = 5

# Pacing: a channel's next free send slot lies at most this many intervals ahead of now (a few senders share a
# channel: its queue, its digest queue, its held queue); one further ahead was reserved on a clock that has since
# stepped back, and is dropped rather than waited for.
PACE_MAX_SLOTS_AHEAD = 20

# Parked outbox entries (undeliverable as configured) are deleted after notify.parked_ttl; checked this often.
DEFAULT_PARKED_TTL_S = 7 * 24 * 3600.0
PARKED_SWEEP_S = 3600.0

# Shutdown: after the grace period, how long the last look at the outbox (for the final log line) may take.
SHUTDOWN_LAST_LOOK_S = 1.0
# A send in flight at the end of the grace period finishes (within DELIVERY_SEND_TIMEOUT_S); its ack then gets
# this long more to be written.
SHUTDOWN_ACK_S = 2.0

# Config files (config.py, configyaml.py): what a YAML file may cost before it is refused.  A real config is a
# few levels deep and uses aliases, if at all, to share a list or two; an alias bomb (nested aliases, each use a
# full copy) grows exponentially and is refused once its copies pass the budget, before anything is expanded.
MAX_CONFIG_DEPTH = 64  # nesting levels
MAX_CONFIG_ALIAS_NODES = 50_000  # nodes that aliases may copy in one file, over the nodes written out
