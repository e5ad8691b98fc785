"""CERS Section Groups: OneRoster 1.2 rosters in, CERS student-group files out.

A plain package for scripts, notebooks and schedulers: it imports no Streamlit and no web
server. The app (``cers_app``) and the command line use only the names listed in ``__all__``;
everything else is inside and may change. Sending files to CERS is ``cers_core.cers_import``.
"""

from cers_core.errors import (
    AuthenticationFailed,
    BadResponse,
    CersError,
    ImportAuthFailed,
    ImportPermissionDenied,
    ImportRequestFailed,
    ImportUnreachable,
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
from cers_core.export import ExportContext, GroupExport, export_file_name, export_section_groups, list_schools
from cers_core.group_diff import GroupDiff, diff_group_files, group_file
from cers_core.groups import SectionGroups, build_section_groups
from cers_core.oneroster.client import FetchProgress
from cers_core.oneroster.fetch import ProviderCapabilities
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
    "export_section_groups",
    "group_file",
    "list_schools",
]
