"""Payments: online through Razorpay, at the counter, refunds, settlement against bills,
statements, receipts, reconciliation and dunning.
"""
