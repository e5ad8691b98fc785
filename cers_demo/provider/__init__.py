"""The demo OneRoster 1.2 rostering provider: a Starlette app serving a ``DemoDistrict``.

It follows the 1.2 REST binding and the official OpenAPI file, and misbehaves on request as
real vendors and busy servers do. One module per part:

- ``options``: ``ProviderOptions`` (paths, credentials, paging, vendor quirks, faults) and the scopes;
- ``routes``: ``create_provider_app``, the routes and the handlers of collections and records;
- ``in_process``: ``DemoProvider``, the app with its settings and an ASGI transport to it (no socket);
- ``oauth``: the token endpoint and the bearer-token check;
- ``store``: the district's frames as views and selections, and the rows of a query (cached);
- ``nested``: which rows each nested route (``/schools/{id}/classes`` …) selects;
- ``filters``: the ``filter`` parameter, parsed and compiled to a polars expression;
- ``encoding``: rows of a page to OneRoster JSON, by polars;
- ``imsx``: the imsx_StatusInfo error answers;
- ``gate``: the middleware every request passes, and the ``RequestLog`` tests read;
- ``fault_injector``: serving the faults of ``cers_demo.faults``.

``DemoProvider`` serves it in process (its docstring runs an export against it); ``DemoServer``
(``cers_demo.server``) on a loopback port.
"""

from cers_demo.provider.gate import RequestLog
from cers_demo.provider.in_process import DemoProvider
from cers_demo.provider.options import (
    ALL_SCOPES,
    DEMOGRAPHICS_SCOPE,
    ROSTER_CORE_SCOPE,
    ROSTER_SCOPE,
    ProviderOptions,
)
from cers_demo.provider.routes import create_provider_app
from cers_demo.provider.store import DANGLING_CLASS, DANGLING_USER

__all__ = [
    "ALL_SCOPES",
    "DANGLING_CLASS",
    "DANGLING_USER",
    "DEMOGRAPHICS_SCOPE",
    "ROSTER_CORE_SCOPE",
    "ROSTER_SCOPE",
    "DemoProvider",
    "ProviderOptions",
    "RequestLog",
    "create_provider_app",
]
