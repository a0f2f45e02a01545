"""How a broadcast is described to admins: in /broadcasts and in the report when it ends.

Counts only: no admin text ever names a recipient.
"""

import time

from tgbot.storage.broadcasts import Status, Summary
from tgbot.text.i18n import Texts

FAILURE_REASONS_SHOWN = 3


def summary_text(t: Texts, summary: Summary, now: float | None = None) -> str:
    """A few lines on one broadcast: what, when, counts, and its pace or how long it took."""
    now = time.time() if now is None else now
    counts = summary.counts
    lines = [
        t(
            "broadcasts.header",
            id=summary.broadcast_id,
            kind=t(f"broadcasts.kind_{summary.kind}", count=summary.milestone or 0),
            status=t(f"broadcasts.status_{summary.status}"),
            started=t.moment(summary.started_at or summary.created_at),
        ),
        t(
            "broadcasts.counts",
            sent=counts.sent,
            pending=counts.pending,
            blocked=counts.blocked,
            failed=counts.failed,
            cancelled=counts.cancelled,
        ),
    ]
    done = counts.sent + counts.blocked + counts.failed
    elapsed = (summary.finished_at or now) - (summary.started_at or summary.created_at)
    if summary.finished_at is not None:
        lines.append(t("broadcasts.took", duration=t.duration(max(elapsed, 1))))
    elif summary.status is Status.SENDING and done and elapsed > 0:
        rate = done / elapsed
        eta = t.duration(max(counts.pending / rate, 1))
        lines.append(t("broadcasts.pace", rate=round(rate, 1), eta=eta))
    if summary.failures:
        common = sorted(summary.failures.items(), key=lambda item: -item[1])
        reasons = "; ".join(
            f"{reason} × {count}" for reason, count in common[:FAILURE_REASONS_SHOWN]
        )
        lines.append(t("broadcasts.failures", reasons=reasons))
    if summary.resent:
        lines.append(t("broadcasts.resent", count=summary.resent))
    return "\n".join(lines)


def report_text(t: Texts, summary: Summary) -> str:
    """The message to the admin who started a broadcast, when it has ended."""
    key = (
        "broadcasts.report_cancelled" if summary.status is Status.CANCELLED else "broadcasts.report"
    )
    return f"{t(key, id=summary.broadcast_id)}\n\n{summary_text(t, summary)}"
