"""The common shape every detection channel returns.

Every channel takes a count series (a pandas Series of floats with a PeriodIndex, missing = NaN)
and returns a DataFrame with the same PeriodIndex restricted to the scored periods, with at least
these columns (after the R ``surveillance`` vocabulary):

- ``observed``  the value in the scored period
- ``expected``  the baseline's expected value
- ``lower``, ``upper``  the bounds at the channel's alpha (NaN where the channel has none)
- ``score``     exceedance score; for the GLM (observed - expected) / (upper - expected)
- ``p_value``   probability of a value at least this extreme in the bad direction
- ``alarm``     bool

Channels use past data only: the row for period t depends on values up to t (the observed value
itself is used only to score it, never to fit its own baseline).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("observed", "expected", "lower", "upper", "score", "p_value", "alarm")


def empty_result(index: pd.PeriodIndex, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """A result frame of NaNs (alarm False) for the given periods."""
    frame = pd.DataFrame(np.nan, index=index, columns=[*COLUMNS, *extra])
    frame["alarm"] = False
    return frame
