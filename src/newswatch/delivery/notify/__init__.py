"""Notifiers behind one Protocol: Slack, JSONL and the console."""
