"""Try the bot with no Telegram token and no Stripe account.

An emulator of the Telegram Bot API (`bot_api`) and a simulator of Stripe (`stripe_api`),
each served over real HTTP on 127.0.0.1, so the bot talks to them exactly as it talks to the
real services. The test suite uses the same two, so what works in the playground works in
the tests and against Telegram and Stripe.
"""
