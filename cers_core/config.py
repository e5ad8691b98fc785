"""Deployment settings: every ``CERS_*`` environment variable, read here and nowhere else.

Each field of :class:`Config` is one variable, named ``CERS_`` + the field's name in capitals
(``data_dir`` is ``CERS_DATA_DIR``). Secrets are ``SecretStr``: masked wherever the config is
printed. A value that cannot be used is a :class:`~cers_core.errors.SettingsError` naming the
variable, never a silent default.

Example::

    >>> config = load_config({"CERS_DEMO": "off", "CERS_CLIENT_SECRET": "s3cret"})
    >>> config.demo, config.client_secret
    (False, SecretStr('**********'))
    >>> variable_name("data_dir")
    'CERS_DATA_DIR'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from cers_core.errors import SettingsError

__all__ = ["Config", "load_config", "variable_name"]

_PREFIX = "CERS_"
_OFF = frozenset({"off", "0", "false", "no"})
_ON = frozenset({"on", "1", "true", "yes", ""})


class Config(BaseModel):
    """What a deployment sets in the environment (all optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    data_dir: Path | None = None
    """``CERS_DATA_DIR``: the app's data folder (saved connections, the download log, kept files);
    default ``.cers/`` beside ``app.py``. Created readable by its owner only."""
    secret_key: SecretStr | None = None
    """``CERS_SECRET_KEY``: the Fernet key(s) that encrypt saved secrets, comma-separated, the
    first encrypting (to rotate: ``new-key,old-key``). Default: ``[cers] secret_key`` in
    ``.streamlit/secrets.toml``, else a key the app generates in the data folder."""
    demo: bool = True
    """``CERS_DEMO``: ``off`` runs the app without the built-in demo district (a deployment for
    real data); ``on`` (the default) offers "Try the demo district"."""
    client_secret: SecretStr | None = None
    """``CERS_CLIENT_SECRET``: the OneRoster Client Secret of the command line (never an option,
    so that it stays out of shell history and process listings)."""
    import_client_secret: SecretStr | None = None
    """``CERS_IMPORT_CLIENT_SECRET``: the command line's CERS import client secret (``export --upload``)."""
    import_password: SecretStr | None = None
    """``CERS_IMPORT_PASSWORD``: the command line's CERS import password, for the password grant."""
    allowed_networks: str | None = None
    """``CERS_ALLOWED_NETWORKS``: the networks the app and the command line may connect to, e.g.
    ``public,10.20.0.0/16`` (keywords ``public``, ``private``, ``loopback``, and networks or
    addresses). Default: ``public,private,loopback`` for a local run, ``public`` for an app that
    listens beyond loopback. Cloud metadata addresses are refused whatever it says."""
    export_deadline: Annotated[float, Field(gt=0, le=7 * 24 * 3600)] = 7200.0
    """``CERS_EXPORT_DEADLINE``: seconds a whole export may take (every request, retry and wait),
    default 7200 (two hours: the largest district on a slow SIS takes well under one)."""
    max_answer_mb: Annotated[int, Field(ge=1, le=4096)] = 100
    """``CERS_MAX_ANSWER_MB``: the largest answer read from a server, in MB, default 100 (a page of
    1,000 records is about 1 MB); a larger one ends the export with an error."""
    history_days: Annotated[int, Field(ge=1, le=36_500)] = 365
    """``CERS_HISTORY_DAYS``: how many days the run history (every sync run, download and upload) is
    kept, default 365; older runs are deleted as new ones are recorded."""
    bundle_folders: tuple[Path, ...] = ()
    """``CERS_BUNDLE_FOLDERS``: the folders in which the app may read OneRoster CSV bundles on the
    server (a nightly job's), separated by ``:`` as in ``PATH``, e.g. ``/srv/sis-exports``. A
    bundle's server path must lie inside one of them; unset, the app reads no path on the server
    (bundles are uploaded). The command line's ``--oneroster-csv`` is not limited by it."""

    @field_validator("data_dir", mode="before")
    @classmethod
    def _folder(cls, value: object) -> object:
        return Path(value.strip()).expanduser() if isinstance(value, str) and value.strip() else None

    @field_validator("secret_key", "client_secret", "import_client_secret", "import_password", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return value if isinstance(value, str) and value.strip() else None

    @field_validator("allowed_networks", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            return None
        from cers_core.http.network import parse_networks  # the network layer loads with the first client

        parse_networks(value)  # a ValueError names the item that is wrong
        return value.strip()

    @field_validator("export_deadline", "max_answer_mb", "history_days", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("bundle_folders", mode="before")
    @classmethod
    def _folders(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        folders = tuple(Path(part.strip()).expanduser() for part in value.split(os.pathsep) if part.strip())
        relative = [str(folder) for folder in folders if not folder.is_absolute()]
        if relative:
            raise ValueError(f"give each folder as a full path, starting with / ({', '.join(relative)} is not)")
        return folders

    @field_validator("demo", mode="before")
    @classmethod
    def _switch(cls, value: object) -> object:
        text = str(value).strip().lower()
        if text in _OFF:
            return False
        if text in _ON:
            return True
        raise ValueError("write on or off")


def variable_name(field: str) -> str:
    """The environment variable of a :class:`Config` field."""
    return _PREFIX + field.upper()


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """The deployment's settings from ``environ`` (default: this process's environment)."""
    environ = os.environ if environ is None else environ
    values = {field: environ[variable_name(field)] for field in Config.model_fields if variable_name(field) in environ}
    try:
        return Config.model_validate(values)
    except ValidationError as error:
        problem = error.errors(include_input=False)[0]
        field = str(problem["loc"][0]) if problem["loc"] else ""
        raise SettingsError(
            f"The environment variable {variable_name(field)} cannot be used: "
            f"{str(problem['msg']).removeprefix('Value error, ')}.",
            field=field,
            hint="Fix or unset it, then start again.",
        ) from None
