"""Test doubles for external services (a fake Telegram Bot API server and helpers)."""
