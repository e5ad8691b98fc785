"""CERS student-group files: write them, and judge them as CERS would.

:func:`write_cers_csv` (and :func:`order_cers_rows`, the rows as written) makes the file;
:func:`validate_cers_csv` returns a :class:`ValidationReport` of :class:`Finding` s, for any file;
:func:`check_written_rows` returns the same report for a file just written, from its rows (by columns,
ten times faster and more).

Reference: ``docs/reference/cers-student-groups.md`` §2 (format), §3 (CERS's
validation), §4 (its report), §8 (CDS codes, SSIDs), §10 (recommendations). Everything
outside ``__all__`` is internal and may change.
"""

from cers_core.cers_csv.report import Finding, ValidationReport, Verdict
from cers_core.cers_csv.self_check import check_written_rows
from cers_core.cers_csv.validator import validate_cers_csv
from cers_core.cers_csv.writer import CERS_COLUMNS, order_cers_rows, write_cers_csv, write_ordered_rows

__all__ = [
    "CERS_COLUMNS",
    "Finding",
    "ValidationReport",
    "Verdict",
    "check_written_rows",
    "order_cers_rows",
    "validate_cers_csv",
    "write_cers_csv",
    "write_ordered_rows",
]
