"""Data quality: what the contract check found in the loaded export."""

from smart101_dash.ui.review_pages import data_quality_page

data_quality_page()
