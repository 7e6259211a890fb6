"""Adverse events: worst CTCAE grade per patient, by SOC and PT; SAE and death listings."""

from smart101_dash import ui

ui.panel_page("adverse_events")
