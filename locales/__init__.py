"""User-visible text, one folder per language (messages, FAQ knowledge base, safety phrases)."""
