"""Watch matching: compile watches once, test each item in one pass (owned by the match engine work)."""
