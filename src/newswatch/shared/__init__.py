"""Helpers several stages share and none owns: HTTP header and address parsing, terminal-safe text, the
language of a text."""
