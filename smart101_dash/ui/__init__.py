"""The Streamlit side: who is looking (identity), drawing a page (page), the two review pages.

With `app.py` and `pages/`, the only code that imports Streamlit.
"""

from smart101_dash.ui.page import panel_page, run_navigation

__all__ = ["panel_page", "run_navigation"]
