"""Smart-101 outcomes dashboard: contract, data layer, endpoints, statistics and panels."""

__version__ = "0.1.0"
