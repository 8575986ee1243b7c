"""Webhooks: one signed endpoint per tenant, told of every HELD and terminal import state."""
