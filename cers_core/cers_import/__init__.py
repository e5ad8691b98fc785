"""CERS's import service (the RDW import API): send group files to CERS.

- :func:`upload_group_file` sends a file our validator accepts, under a unique batch, and
  waits for CERS's verdict (:class:`ImportResult`, with CERS's failures mapped to groups and
  people);
- :func:`check_import_connection` tests a connection without sending anything.

The fake import service that tests and the demo district send to is ``cers_demo.fake_cers_import``.

Reference: ``docs/reference/cers-student-groups.md`` §4 (report, statuses), §5 (re-upload
semantics), §6 (the import API).
"""

from cers_core.cers_import.upload import (
    FAILURE_STATUSES,
    ImportResult,
    UploadContext,
    batch_name,
    check_import_connection,
    upload_group_file,
)

__all__ = [
    "FAILURE_STATUSES",
    "ImportResult",
    "UploadContext",
    "batch_name",
    "check_import_connection",
    "upload_group_file",
]
