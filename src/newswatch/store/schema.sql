-- The embedded store's tables (newswatch.store.sqlite).  Every decision is one transaction over them.
CREATE TABLE IF NOT EXISTS item_keys (key TEXT PRIMARY KEY, item_id TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS items (item_id TEXT PRIMARY KEY, max_len INTEGER NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS item_texts (item_id TEXT NOT NULL, fp TEXT NOT NULL, PRIMARY KEY (item_id, fp));
CREATE TABLE IF NOT EXISTS alerted (
    watch TEXT NOT NULL, item_id TEXT NOT NULL, story TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (watch, item_id)
);
CREATE TABLE IF NOT EXISTS stories (
    watch TEXT NOT NULL, story_id TEXT NOT NULL, record TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (watch, story_id)
);
CREATE TABLE IF NOT EXISTS story_bands (
    watch TEXT NOT NULL, band TEXT NOT NULL, story_id TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (watch, band)
);
CREATE TABLE IF NOT EXISTS story_terms (
    watch TEXT NOT NULL, term TEXT NOT NULL, story_id TEXT NOT NULL, latest REAL NOT NULL,
    PRIMARY KEY (watch, term, story_id)
);
CREATE INDEX IF NOT EXISTS story_terms_recent ON story_terms (watch, term, latest, story_id);
CREATE INDEX IF NOT EXISTS story_terms_story ON story_terms (watch, story_id);
CREATE TABLE IF NOT EXISTS doc_freq (term TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS doc_freq_rare ON doc_freq (n, term);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, watch TEXT NOT NULL, story TEXT NOT NULL,
    event TEXT NOT NULL, record TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0, created REAL NOT NULL, parked TEXT, parked_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (target, parked, seq);
CREATE TABLE IF NOT EXISTS threads (key TEXT PRIMARY KEY, ts TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL);
-- How many times each lease was granted: the epoch of its latest grant (newswatch.store.base.Fence).
CREATE TABLE IF NOT EXISTS fences (name TEXT PRIMARY KEY, epoch INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS slots (name TEXT PRIMARY KEY, next REAL NOT NULL);
CREATE TABLE IF NOT EXISTS windows (name TEXT NOT NULL, idx INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (name, idx));
CREATE TABLE IF NOT EXISTS feeds (url TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schedule (url TEXT PRIMARY KEY, due REAL NOT NULL);
CREATE INDEX IF NOT EXISTS schedule_due ON schedule (due);
-- Workers and the config generation each runs, until their announcement lapses (newswatch.service.schedule).
CREATE TABLE IF NOT EXISTS workers (worker TEXT PRIMARY KEY, generation TEXT NOT NULL, expires REAL NOT NULL);
-- Mutes and snoozes set from Slack (newswatch.store.sqlite_slack); `id` is newswatch.store.base.mute_id.
CREATE TABLE IF NOT EXISTS mutes (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, watch TEXT NOT NULL, subject TEXT NOT NULL,
    user TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL, label TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS mutes_target ON mutes (target, expires);
-- Names remembered for a while (newswatch.store.sqlite_slack: remember_once), e.g. a handled Slack request.
CREATE TABLE IF NOT EXISTS once (name TEXT PRIMARY KEY, expires REAL NOT NULL);
-- The decision record behind `newswatch why` (newswatch.store.notes): JSON notes filed per item key.
CREATE TABLE IF NOT EXISTS notes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, note TEXT NOT NULL, expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_key ON notes (key, seq);
CREATE INDEX IF NOT EXISTS notes_expires ON notes (expires);
-- Story timelines for the status pages (newswatch.store.timeline): one JSON line per report of a story.
CREATE TABLE IF NOT EXISTS timeline (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, story TEXT NOT NULL, watch TEXT NOT NULL, line TEXT NOT NULL,
    at REAL NOT NULL, expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS timeline_story ON timeline (story, seq);
CREATE INDEX IF NOT EXISTS timeline_watch ON timeline (watch, seq);
CREATE INDEX IF NOT EXISTS timeline_expires ON timeline (expires);
