"""The demo district and its services: a realistic roster to try the app on without credentials.

Its parts:

- the district (``cers_demo.district``): ``generate_district`` makes a ``DemoDistrict`` as polars
  frames, deterministic per seed and date, with ``DemoCases`` naming its awkward records;
- the OneRoster 1.2 provider (``cers_demo.provider``): ``create_provider_app`` serves the district
  as a rostering API (a Starlette app) that behaves as ``ProviderOptions`` say, faults
  (``cers_demo.faults``) included; ``DemoProvider`` reaches it in process, through an ASGI transport;
- the fake CERS import service (``cers_demo.fake_cers_import``), to send group files to;
- the demo OpenID Connect provider (``cers_demo.oidc_provider``), to sign in to the app as made-up people;
- the loopback server (``cers_demo.loopback``, ``cers_demo.server``): ``DemoServer`` runs the
  provider on a port of this computer in a background thread, and ``serve`` in the foreground;
- the commands (``cers_demo.commands``, ``cers_demo.provider_flags``): ``python -m cers_core
  demo-server``, ``demo-import-server`` and ``demo-oidc-server``, with the flags that make the
  provider misbehave.

Nothing in ``cers_core`` imports this package.
"""

from cers_demo.district import DemoCases, DemoDistrict, generate_district
from cers_demo.provider import DemoProvider, ProviderOptions, create_provider_app
from cers_demo.server import DemoServer, serve

__all__ = [
    "DemoCases",
    "DemoDistrict",
    "DemoProvider",
    "DemoServer",
    "ProviderOptions",
    "create_provider_app",
    "generate_district",
    "serve",
]
