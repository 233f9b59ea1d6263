"""The scan pipeline: the one place that joins the statistics with the store.

Scoring a series with its settings, the scan over every series, re-thresholding, the actions an
analyst takes, the page data (views), the records, and the digest of what changed (with its
recipients and mail delivery).
"""
