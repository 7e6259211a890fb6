"""Audit: who signed in, looked at what, changed which filter and downloaded what."""

from smart101_dash.ui.review_pages import audit_page

audit_page()
