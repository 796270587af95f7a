"""The long-running service: the scheduler loop, the HTTP server (health, metrics), metrics, logs, supervision of background tasks and config reload."""
