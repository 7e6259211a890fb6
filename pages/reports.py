"""Reports: the DSMB report of the cut shown, open or closed session, HTML or PDF."""

from smart101_dash.ui.review_pages import reports_page

reports_page()
