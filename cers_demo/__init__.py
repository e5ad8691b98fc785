"""The demo district and its OneRoster 1.2 provider: a realistic roster to try the app on without credentials.

``generate_district`` makes the district (polars frames, deterministic per seed and date),
``create_provider_app`` serves it as a OneRoster 1.2 rostering API (a Starlette app), and
``DemoServer`` runs that app on a loopback port in a background thread. ``serve`` runs it
in the foreground for ``python -m cers_core demo-server``.
"""

from cers_demo.district import DemoCases, DemoDistrict, generate_district
from cers_demo.provider import ProviderOptions, create_provider_app
from cers_demo.server import DemoServer, serve

__all__ = [
    "DemoCases",
    "DemoDistrict",
    "DemoServer",
    "ProviderOptions",
    "create_provider_app",
    "generate_district",
    "serve",
]
