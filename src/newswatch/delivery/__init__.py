"""Delivery: the outbox loop, routing of records to targets, leases, and the notifiers (Slack, webhooks, JSONL, console)."""
