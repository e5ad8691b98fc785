"""CERS Section Groups: OneRoster rosters (over REST, or a CSV bundle) in, CERS student-group files out.

A plain package for scripts, notebooks and schedulers: it imports no Streamlit and no web
server. The app (``cers_app``) and the command line use only the names listed in ``__all__``;
everything else is inside and may change. Sending files to CERS is ``cers_core.cers_import``.

Names are loaded on first use (PEP 562), so that ``import cers_core.settings`` or a command
that needs only part of the engine does not pay for all of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cers_core.errors import (
        AuthenticationFailed,
        BadResponse,
        CersError,
        ImportAuthFailed,
        ImportPermissionDenied,
        ImportRequestFailed,
        ImportUnreachable,
        InvalidBundle,
        InvalidFile,
        NotFound,
        OneRosterError,
        PermissionDenied,
        ProviderUnreachable,
        RateLimited,
        ServerError,
        SettingsError,
        UploadError,
        UploadOutcomeUnknown,
        UploadRefused,
    )
    from cers_core.export import (
        ExportContext,
        GroupExport,
        export_file_name,
        export_from_bundle,
        export_section_groups,
        list_schools,
    )
    from cers_core.group_diff import GroupDiff, diff_group_files, group_file
    from cers_core.groups import SectionGroups, build_section_groups
    from cers_core.oneroster.client import FetchProgress
    from cers_core.oneroster.fetch import ProviderCapabilities
    from cers_core.oneroster_csv.reader import list_bundle_schools
    from cers_core.roster import Roster
    from cers_core.sample import example_group_name
    from cers_core.settings import CersImportSettings, ClassTypes, GroupNameField, GroupOptions, OneRosterSettings

__all__ = [
    "AuthenticationFailed",
    "BadResponse",
    "CersError",
    "CersImportSettings",
    "ClassTypes",
    "ExportContext",
    "FetchProgress",
    "GroupDiff",
    "GroupExport",
    "GroupNameField",
    "GroupOptions",
    "ImportAuthFailed",
    "ImportPermissionDenied",
    "ImportRequestFailed",
    "ImportUnreachable",
    "InvalidBundle",
    "InvalidFile",
    "NotFound",
    "OneRosterError",
    "OneRosterSettings",
    "PermissionDenied",
    "ProviderCapabilities",
    "ProviderUnreachable",
    "RateLimited",
    "Roster",
    "SectionGroups",
    "ServerError",
    "SettingsError",
    "UploadError",
    "UploadOutcomeUnknown",
    "UploadRefused",
    "build_section_groups",
    "diff_group_files",
    "example_group_name",
    "export_file_name",
    "export_from_bundle",
    "export_section_groups",
    "group_file",
    "list_bundle_schools",
    "list_schools",
]

# The module that defines each public name (a test checks this matches __all__).
_MODULES: dict[str, tuple[str, ...]] = {
    "cers_core.errors": (
        "AuthenticationFailed",
        "BadResponse",
        "CersError",
        "ImportAuthFailed",
        "ImportPermissionDenied",
        "ImportRequestFailed",
        "ImportUnreachable",
        "InvalidBundle",
        "InvalidFile",
        "NotFound",
        "OneRosterError",
        "PermissionDenied",
        "ProviderUnreachable",
        "RateLimited",
        "ServerError",
        "SettingsError",
        "UploadError",
        "UploadOutcomeUnknown",
        "UploadRefused",
    ),
    "cers_core.export": (
        "ExportContext",
        "GroupExport",
        "export_file_name",
        "export_from_bundle",
        "export_section_groups",
        "list_schools",
    ),
    "cers_core.group_diff": ("GroupDiff", "diff_group_files", "group_file"),
    "cers_core.groups": ("SectionGroups", "build_section_groups"),
    "cers_core.oneroster.client": ("FetchProgress",),
    "cers_core.oneroster.fetch": ("ProviderCapabilities",),
    "cers_core.oneroster_csv.reader": ("list_bundle_schools",),
    "cers_core.roster": ("Roster",),
    "cers_core.sample": ("example_group_name",),
    "cers_core.settings": ("CersImportSettings", "ClassTypes", "GroupNameField", "GroupOptions", "OneRosterSettings"),
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'cers_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
