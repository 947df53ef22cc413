"""Meter data: meters and registers, ingestion of reads and intervals, VEE and its review,
and the usage aggregates the customer app and bills read.
"""
