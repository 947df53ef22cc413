"""Notifications: events written to the outbox in the transaction that caused them,
sent later by a background task over e-mail (SMTP), SMS or push (planned)."""
