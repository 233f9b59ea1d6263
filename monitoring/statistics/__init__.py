"""Statistics: pure functions of pandas series and frames (numpy, statsmodels, scipy).

Nothing here reads the store, a file or a setting file: a series and its parameters go in, a frame
comes out. Channels (the EU's two-month rule, the baselines, the detectors), alarm levels, the
visa-free impact, episodes and the derived series (EU+ totals, return rates).
"""
