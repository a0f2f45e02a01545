"""Running the bot: the python-telegram-bot Application, the HTTP server and its routes,
the order updates are handled in, supervised background tasks, health, logging, and what is
kept in memory per person."""
