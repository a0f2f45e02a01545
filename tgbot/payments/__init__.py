"""Donations through Stripe Checkout: amounts, sessions, webhook events, totals."""
