"""CERS Section Groups: OneRoster 1.2 rosters in, CERS student-group files out.

The app and the command line use only the names listed in ``__all__``; everything else is
inside and may change.
"""

from cers_core.errors import (
    AuthenticationFailed,
    BadResponse,
    CersError,
    InvalidFile,
    NotFound,
    OneRosterError,
    PermissionDenied,
    ProviderUnreachable,
    RateLimited,
    ServerError,
    SettingsError,
)
from cers_core.export import ExportContext, GroupExport, export_file_name, export_section_groups, list_schools
from cers_core.groups import SectionGroups, build_section_groups
from cers_core.oneroster.client import FetchProgress
from cers_core.oneroster.fetch import ProviderCapabilities
from cers_core.roster import Roster
from cers_core.sample import example_group_name
from cers_core.settings import ClassTypes, GroupNameField, GroupOptions, OneRosterSettings

__all__ = [
    "AuthenticationFailed",
    "BadResponse",
    "CersError",
    "ClassTypes",
    "ExportContext",
    "FetchProgress",
    "GroupExport",
    "GroupNameField",
    "GroupOptions",
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
    "build_section_groups",
    "example_group_name",
    "export_file_name",
    "export_section_groups",
    "list_schools",
]
