"""What handlers need besides the update: settings, storage and the text engines."""

from dataclasses import dataclass, field

from telegram.ext import CallbackContext

from tgbot.broadcasts.worker import Broadcaster
from tgbot.coalesce import Coalescer
from tgbot.faq import Faq, default_faq
from tgbot.memory import Languages, RecentMessages
from tgbot.payments.service import DonationService
from tgbot.safety import SafetyCheck, default_safety_check
from tgbot.settings import Settings
from tgbot.storage import Storage
from tgbot.supervision import Health
from tgbot.throttle import UserThrottle, urgent_throttle

_KEY = "services"
BROADCASTS = "broadcasts"
RECONCILIATION = "reconciliation"


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
    languages: Languages = field(default_factory=Languages)
    recent: RecentMessages = field(default_factory=RecentMessages)
    payment_follow_up: Coalescer = field(default_factory=Coalescer)
    health: Health = field(default_factory=Health)
    broadcaster: Broadcaster = field(init=False)

    def __post_init__(self) -> None:
        self.broadcaster = Broadcaster(self.settings, self.storage, self.health.task(BROADCASTS))

    def attach(self, bot_data: dict) -> None:
        bot_data[_KEY] = self

    def forget_in_memory(self, user_id: int) -> None:
        """Drop what memory holds about a person (their private chat has their id)."""
        self.languages.forget(user_id)
        self.recent.forget(user_id)
        self.throttle.forget(user_id)
        self.urgent_throttle.forget(user_id)


def services(context: CallbackContext) -> Services:
    """The services attached to the application this callback runs in."""
    return context.bot_data[_KEY]
