"""OneRoster CSV bundles: a district's rosters from the zip its SIS exports, when REST is not an option.

:func:`read_bundle` reads a OneRoster 1.1 or 1.2 bundle (a ``.zip`` path, a folder, zip bytes or
an uploaded file) into the same :class:`cers_core.roster.Roster` the REST client makes, after
checking it; :func:`list_bundle_schools` lists its schools as ``export.list_schools`` does. A
bundle that cannot be used raises :class:`cers_core.errors.InvalidBundle`, whose ``report`` (a
:class:`BundleReport`) lists every problem with its file, line and column.

    >>> import io, zipfile
    >>> files = {
    ...     "manifest.csv": "propertyName,value\\nmanifest.version,1.0\\noneroster.version,1.2\\nfile.orgs,bulk\\n",
    ...     "orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\\n"
    ...     "sch-1,,,Lincoln High,school,01612590130146,\\n",
    ... }
    >>> zipped = io.BytesIO()
    >>> with zipfile.ZipFile(zipped, "w") as bundle:
    ...     for name, text in files.items():
    ...         bundle.writestr(name, text)
    >>> list_bundle_schools(zipped.getvalue()).rows()
    [('sch-1', 'Lincoln High', '01612590130146', '01612590130146')]

Modules: ``bundle`` (opening a zip or folder safely), ``manifest``, ``binding`` (the files and
columns of the CSV binding), ``checks``, ``report`` (the problems) and ``reader``.
"""

from cers_core.oneroster_csv.bundle import BundleLimits, BundleSource
from cers_core.oneroster_csv.reader import BundleRoster, list_bundle_schools, read_bundle
from cers_core.oneroster_csv.report import BundleProblem, BundleReport, ProblemCode

__all__ = [
    "BundleLimits",
    "BundleProblem",
    "BundleReport",
    "BundleRoster",
    "BundleSource",
    "ProblemCode",
    "list_bundle_schools",
    "read_bundle",
]
