"""Notifications as use cases: the outbox written in the causing transaction, the in-app
inbox, preferences, unsubscribe links and push registrations. Delivery over channels is
the top-level ``notifications`` package.
"""
