"""The Stripe simulator: the API the official SDK calls, Checkout pages, signed webhooks."""
