"""The conversation: one module per feature, registered in the order they take precedence."""

from telegram.ext import Application

from handlers import (
    admin,
    donations,
    erase,
    errors,
    fallback,
    language,
    membership,
    mydonations,
    myid,
    news,
    privacy,
    questions,
    safety,
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
    erase,
    myid,
    admin,
    news,
    membership,
    questions,
)


def register(application: Application) -> None:
    """Put the danger check before every queue, then add every feature's handlers, then the
    fallbacks and the error handler."""
    safety.register(application)
    throttle.register(application)
    for feature in FEATURES:
        feature.register(application)
    fallback.register(application)
    errors.register(application)
