"""The reporting periods admins see: today and this week, in UTC."""

from datetime import UTC, datetime, timedelta


def day_start(now: datetime) -> datetime:
    """00:00 UTC of `now`'s day."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC of `now`'s week."""
    today = day_start(now)
    return today - timedelta(days=today.weekday())
