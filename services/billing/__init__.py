"""Billing: tariff versions, bill runs and drafts, issuing and corrections, bill documents,
adjustments and estimates.
"""
