"""Everything before an Item exists: fetching, parsing, dates, URLs and text, the poll policy, WebSub push, OPML, archives and feed status."""
