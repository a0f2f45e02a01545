"""What handlers need besides the update: settings, storage and the text engines."""

from dataclasses import dataclass, field

from telegram.ext import CallbackContext

from tgbot.broadcasts.worker import Broadcaster
from tgbot.notifier import Notifier
from tgbot.payments.service import DonationService
from tgbot.runtime.coalesce import Coalescer
from tgbot.runtime.memory import PerPerson, RecentMessages
from tgbot.runtime.supervision import Health
from tgbot.runtime.throttle import UserThrottle, urgent_throttle
from tgbot.settings import Settings
from tgbot.storage import Storage
from tgbot.text.faq import Faq, default_faq
from tgbot.text.safety import SafetyCheck, default_safety_check

_KEY = "services"
BROADCASTS = "broadcasts"
RECONCILIATION = "reconciliation"
WAIT_SECONDS = 3600
"""How long the bot waits for a typed amount or a reason for leaving."""


@dataclass(slots=True)
class Services:
    settings: Settings
    storage: Storage
    faq: Faq = field(default_factory=default_faq)
    safety: SafetyCheck = field(default_factory=default_safety_check)
    payments: DonationService | None = None
    """None when Stripe is not configured."""
    throttle: UserThrottle = field(default_factory=UserThrottle)
    urgent_throttle: UserThrottle = field(default_factory=urgent_throttle)
    """Bounds the emergency replies one person can make the bot send (they skip `throttle`)."""
    languages: PerPerson[str] = field(default_factory=PerPerson)
    """Each person's chosen language, as last read from storage."""
    recent: RecentMessages = field(default_factory=RecentMessages)
    awaiting_amount: PerPerson[tuple[str, bool]] = field(
        default_factory=lambda: PerPerson(max_age=WAIT_SECONDS)
    )
    """(currency, monthly) while the bot waits for an amount typed after "Other amount"."""
    reason_due: PerPerson[bool] = field(default_factory=lambda: PerPerson(max_age=WAIT_SECONDS))
    """Someone who just left the news may say why, once."""
    news_offered: PerPerson[bool] = field(default_factory=PerPerson)
    """News was offered after an answer: not again (while remembered)."""
    payment_follow_up: Coalescer = field(default_factory=Coalescer)
    health: Health = field(default_factory=Health)
    broadcaster: Broadcaster = field(init=False)
    notifier: Notifier = field(init=False)
    """Set by the application builder (`tgbot.runtime.app`)."""

    def __post_init__(self) -> None:
        self.broadcaster = Broadcaster(self.settings, self.storage, self.health.task(BROADCASTS))

    def attach(self, bot_data: dict) -> None:
        bot_data[_KEY] = self

    def forget_in_memory(self, user_id: int) -> None:
        """Drop what memory holds about a person (their private chat has their id)."""
        for kept in (
            self.languages, self.recent, self.throttle, self.urgent_throttle,
            self.awaiting_amount, self.reason_due, self.news_offered,
        ):  # fmt: skip
            kept.forget(user_id)


def services(context: CallbackContext) -> Services:
    """The services attached to the application this callback runs in."""
    return context.bot_data[_KEY]
