"""Webhook delivery Lambda."""
