"""What handlers need besides the update: settings, storage and the text engines."""

from dataclasses import dataclass, field

from telegram.ext import CallbackContext

from tgbot.broadcasts.worker import Broadcaster
from tgbot.coalesce import Coalescer
from tgbot.faq import Faq, default_faq
from tgbot.payments.service import DonationService
from tgbot.safety import SafetyCheck, default_safety_check
from tgbot.settings import Settings
from tgbot.storage import Storage
from tgbot.throttle import UserThrottle

_KEY = "services"


@dataclass(slots=True)
class Services:
    settings: Settings
    storage: Storage
    faq: Faq = field(default_factory=default_faq)
    safety: SafetyCheck = field(default_factory=default_safety_check)
    payments: DonationService | None = None
    """None when Stripe is not configured."""
    throttle: UserThrottle = field(default_factory=UserThrottle)
    payment_follow_up: Coalescer = field(default_factory=Coalescer)
    broadcaster: Broadcaster = field(init=False)

    def __post_init__(self) -> None:
        self.broadcaster = Broadcaster(self.settings, self.storage)

    def attach(self, bot_data: dict) -> None:
        bot_data[_KEY] = self


def services(context: CallbackContext) -> Services:
    """The services attached to the application this callback runs in."""
    return context.bot_data[_KEY]
