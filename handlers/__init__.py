"""The conversation: one module per feature, registered in the order they take precedence."""

from telegram.ext import Application

from handlers import (
    admin,
    donations,
    errors,
    fallback,
    language,
    membership,
    mydonations,
    news,
    privacy,
    questions,
    share,
    start,
    subscription,
    throttle,
)

FEATURES = (
    start,
    language,
    donations,
    mydonations,
    subscription,
    share,
    privacy,
    admin,
    news,
    membership,
    questions,
)


def register(application: Application) -> None:
    """Add every feature's handlers, then the fallbacks and the error handler."""
    throttle.register(application)
    for feature in FEATURES:
        feature.register(application)
    fallback.register(application)
    errors.register(application)
