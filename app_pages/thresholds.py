"""thresholds page (being built)."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from monitoring.i18n import t

st.title(t("nav.thresholds", common.lang()))
