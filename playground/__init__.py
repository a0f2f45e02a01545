"""Try the bot with no Telegram token and no Stripe account.

An emulator of the Telegram Bot API (`playground.telegram`) and a simulator of Stripe
(`playground.stripe`), each served over real HTTP on 127.0.0.1, so the bot talks to them
exactly as it talks to the real services, and the page people chat on (`playground.web`).
The test suite uses the same two, so what works in the playground works in the tests and
against Telegram and Stripe. The bot (`tgbot`, `handlers`) never imports this package, and
an install of the bot does not include it.
"""
