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
from cers_core.roster import Roster
from cers_core.settings import ClassTypes, GroupNameField, GroupOptions, OneRosterSettings

__all__ = [
    "AuthenticationFailed",
    "BadResponse",
    "CersError",
    "ClassTypes",
    "GroupNameField",
    "GroupOptions",
    "InvalidFile",
    "NotFound",
    "OneRosterError",
    "OneRosterSettings",
    "PermissionDenied",
    "ProviderUnreachable",
    "RateLimited",
    "Roster",
    "ServerError",
    "SettingsError",
]
