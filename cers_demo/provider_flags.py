"""The ``demo-server`` flags that make the demo provider misbehave, and the ``ProviderOptions`` they ask for.

Every fault and hostile mode of ``cers_demo.faults`` and every paging, scope and vendor quirk of
``ProviderOptions`` has a flag (the README has the table), so that a client can be tried
against a misbehaving SIS from the command line as well as from a test:

    python -m cers_core demo-server --fault 503,every=3,times=2 --latency 0.01 --no-total-count

``add_fault_arguments`` puts the flags on the command's parser; ``provider_options`` turns the
parsed flags back into options (``fault_options`` gives only those that differ from the defaults).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from cers_core.errors import SettingsError
from cers_demo.faults import FaultKind, Faults, HostileMode, parse_fault_rule, parse_hostile
from cers_demo.provider.options import ROSTER_CORE_SCOPE, ProviderOptions

__all__ = ["add_fault_arguments", "fault_options", "provider_options"]

T = TypeVar("T")


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``demo-server`` flags that make the provider misbehave (see the README's table)."""
    faults = parser.add_argument_group("faults", "make the provider misbehave, to test clients against it")
    faults.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_argument(parse_fault_rule),
        metavar="KIND[,key=value…]",
        help="spoil requests, e.g. 503,every=3,times=2 or reset,target=token,after=1 (repeatable); "
        f"kinds: {', '.join(k.value for k in FaultKind)}; keys: target, every, times, after, retry_after, "
        "retry_after_date",
    )
    faults.add_argument(
        "--hostile",
        action="append",
        default=[],
        type=_argument(parse_hostile),
        metavar="MODE[,key=value…]",
        help="behave as a hostile SIS (repeatable): "
        f"{', '.join(m.value for m in HostileMode if m is not HostileMode.redirect_to)}, or redirect-to=URL; "
        "keys: target (data, token, all), seconds (trickle), size (huge-page), depth (deep-json)",
    )
    faults.add_argument("--fault-seed", type=int, default=0, help="which requests every=N picks (default 0)")
    faults.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="answer every request this long after it arrived, at the soonest",
    )
    faults.add_argument("--max-concurrent", type=int, metavar="N", help="answer 429 beyond N requests in flight")
    faults.add_argument("--hang-seconds", type=float, default=1.0, metavar="SECONDS", help="how long a hang lasts")
    faults.add_argument("--token-lifetime", type=int, metavar="SECONDS", help="expires_in of tokens (default 3600)")
    paging = parser.add_argument_group("paging quirks")
    paging.add_argument("--max-page-size", type=int, metavar="N", help="clamp limit to N (default 1000)")
    paging.add_argument("--no-total-count", action="store_true", help="send no X-Total-Count")
    paging.add_argument("--no-link", action="store_true", help="send no Link header")
    paging.add_argument("--total-drift", type=int, default=0, metavar="N", help="first pages' total is off by N")
    paging.add_argument("--overlapping-pages", action="store_true", help="each later page repeats one record")
    scope = parser.add_argument_group("scope and vendor quirks")
    scope.add_argument("--core-scope-only", action="store_true", help="grant roster-core.readonly only")
    scope.add_argument("--no-nested-routes", action="store_true", help="no /schools/{id}/… routes (404)")
    scope.add_argument("--no-filters", action="store_true", help="refuse every filter (400 invalid_filter_field)")
    scope.add_argument("--no-dotted-filters", action="store_true", help="refuse filters on school.sourcedId …")
    scope.add_argument("--require-cookie", action="store_true", help="refuse requests without the affinity cookie")
    for flag, field in _QUIRK_FLAGS.items():
        scope.add_argument(flag, action="store_true", help=_QUIRK_HELP[field])


_QUIRK_FLAGS = {
    "--json-booleans": "json_booleans",
    "--legacy-user-role": "legacy_user_role",
    "--null-identifiers": "null_identifiers",
    "--relative-hrefs": "relative_hrefs",
    "--ext-values": "ext_values",
    "--extra-fields": "extra_fields",
    "--dangling-references": "dangling_references",
}
_QUIRK_HELP = {
    "json_booleans": "enabledUser/primary as JSON booleans",
    "legacy_user_role": "1.1-style users (role, orgs)",
    "null_identifiers": "every identifier null",
    "relative_hrefs": "hrefs without scheme and host",
    "ext_values": "ext: vocabulary (ext:trimester, ext:coteacher)",
    "extra_fields": "unknown extra properties on every record",
    "dangling_references": "enrollments naming users and classes that do not exist",
}


def _argument(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse ``type`` from a parser whose ``ValueError`` says what is wrong."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


def fault_options(args: argparse.Namespace) -> dict[str, Any]:
    """``ProviderOptions`` keyword arguments from the flags of ``add_fault_arguments``."""
    options: dict[str, Any] = {}
    faults = Faults(
        rules=tuple(args.fault),
        seed=args.fault_seed,
        latency_seconds=args.latency,
        max_concurrent_requests=args.max_concurrent,
        hang_seconds=args.hang_seconds,
    )
    if faults != Faults():
        options["faults"] = faults
    if args.hostile:
        options["hostile"] = tuple(args.hostile)
    if args.token_lifetime is not None:
        options["token_lifetime_seconds"] = args.token_lifetime
    if args.max_page_size is not None:
        options["max_page_size"] = args.max_page_size
    if args.total_drift:
        options["total_drift"] = args.total_drift
    switches = {
        "total_count_header": not args.no_total_count,
        "link_header": not args.no_link,
        "nested_routes": not args.no_nested_routes,
        "dotted_filters": not args.no_dotted_filters,
        "overlapping_pages": args.overlapping_pages,
        "require_cookie": args.require_cookie,
    }
    options |= {name: value for name, value in switches.items() if value is not _DEFAULT_SWITCH[name]}
    if args.core_scope_only:
        options["client_scopes"] = frozenset({ROSTER_CORE_SCOPE})
    if args.no_filters:
        options["filter_fields"] = frozenset()
    options |= {field: True for flag, field in _QUIRK_FLAGS.items() if getattr(args, _dest(flag))}
    return options


def provider_options(args: argparse.Namespace) -> ProviderOptions:
    """The ``ProviderOptions`` the ``demo-server`` flags ask for; a ``SettingsError`` when they do not fit."""
    try:
        return ProviderOptions(**fault_options(args))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise SettingsError(f"The demo server options do not fit: {problems}.") from None


_DEFAULT_SWITCH = {
    "total_count_header": True,
    "link_header": True,
    "nested_routes": True,
    "dotted_filters": True,
    "overlapping_pages": False,
    "require_cookie": False,
}


def _dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")
