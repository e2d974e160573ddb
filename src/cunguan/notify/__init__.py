"""Notifications: the outbox, delivery with retries, the SMS gateway."""
