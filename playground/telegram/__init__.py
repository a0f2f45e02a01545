"""The Telegram Bot API emulator: real HTTP, Telegram's limits and error shapes."""
