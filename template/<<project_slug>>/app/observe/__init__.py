"""Logs, metrics, traces and the admin server: how the service is observed in production."""
