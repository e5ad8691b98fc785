"""CERS's import service (the RDW import API): send group files, and a fake service to send them to.

- :func:`upload_group_file` sends a file our validator accepts, under a unique batch, and
  waits for CERS's verdict (:class:`ImportResult`, with CERS's failures mapped to groups and
  people); :func:`check_import_connection` tests a connection without sending anything;
- :class:`FakeImportServer` runs a fake import service on a loopback port (for tests and the
  demo district), with CERS's validation, statuses and identical-file rule.

Reference: ``/work/shared/reference/cers-student-groups.md`` §4 (report, statuses), §5
(re-upload semantics), §6 (the import API).
"""

from cers_core.rdw.fake_service import CersGroup, FakeImportOptions, FakeImportServer, FakeImportService
from cers_core.rdw.upload import (
    FAILURE_STATUSES,
    ImportResult,
    UploadContext,
    batch_name,
    check_import_connection,
    upload_group_file,
)

__all__ = [
    "FAILURE_STATUSES",
    "CersGroup",
    "FakeImportOptions",
    "FakeImportServer",
    "FakeImportService",
    "ImportResult",
    "UploadContext",
    "batch_name",
    "check_import_connection",
    "upload_group_file",
]
