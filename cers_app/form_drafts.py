"""What a connection form holds, kept across a reload of the page — never its secrets.

A reload starts a new browser session, and Streamlit's session state with it. So while a form is
open, its fields (not the Client Secret nor the password) are kept here, in the app's process, under
a random token that the page's URL carries (``?edit=oneroster:new&draft=<token>``); a reload reads
them back. A draft is dropped when its form closes (saved or cancelled) and after a day; a restart of
the app loses drafts, and the form then opens as saved. The token is 128 random bits: only the
browser that has the URL can read its draft.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import streamlit as st

__all__ = ["Draft", "drop_draft", "keep_draft", "restored_draft"]

_MAX_DRAFTS = 500
_MAX_AGE_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class Draft:
    """An open form: which one (``oneroster`` or ``import``), what it edits (an id, or ``new``), its fields."""

    form: str
    editing: str
    values: dict[str, Any]


class _Drafts:
    """Drafts by token, oldest first, with the time each was last kept."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kept: OrderedDict[str, tuple[float, Draft]] = OrderedDict()

    def put(self, token: str, draft: Draft) -> None:
        with self.lock:
            self.kept[token] = (time.monotonic(), draft)
            self.kept.move_to_end(token)
            while len(self.kept) > _MAX_DRAFTS:
                self.kept.popitem(last=False)

    def get(self, token: str) -> Draft | None:
        with self.lock:
            found = self.kept.get(token)
        if found is None or time.monotonic() - found[0] > _MAX_AGE_SECONDS:
            return None
        return found[1]

    def pop(self, token: str) -> None:
        with self.lock:
            self.kept.pop(token, None)


@st.cache_resource(show_spinner=False)
def _drafts() -> _Drafts:
    return _Drafts()


def restored_draft() -> Draft | None:
    """The draft the page's URL names, when there is one to restore (after a reload)."""
    token = st.query_params.get("draft")
    edit = st.query_params.get("edit", "")
    if not token or ":" not in edit:
        return None
    draft = _drafts().get(token)
    return draft if draft is not None and f"{draft.form}:{draft.editing}" == edit else None


def keep_draft(form: str, editing: str, keys: Iterable[str]) -> None:
    """Keep the fields of an open form (the widget keys given: leave the secrets out) for a reload."""
    token = st.query_params.get("draft") or secrets.token_urlsafe(16)
    values = {key: st.session_state[key] for key in keys if key in st.session_state}
    _drafts().put(token, Draft(form=form, editing=editing, values=values))
    if st.query_params.get("edit") != f"{form}:{editing}" or st.query_params.get("draft") != token:
        st.query_params.update({"edit": f"{form}:{editing}", "draft": token})


def drop_draft() -> None:
    """Forget the draft of the form that closes, and take it out of the URL."""
    token = st.query_params.get("draft")
    if token:
        _drafts().pop(token)
    for name in ("edit", "draft"):
        if name in st.query_params:
            del st.query_params[name]
