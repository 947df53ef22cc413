"""Accounts: customers and their accounts, the account ledger, support requests and
personal-data requests.
"""
