"""The door every page passes first: sign-in and the allow-list, or the app on one computer.

``door()`` runs before the page opens the store or draws anything. It returns the
:class:`~cers_app.access.Visitor` the page works for, or draws one of three pages and stops the
run: the sign-in page (``st.login``), the refusal page of someone not on the allow-list (with a
sign-out button), or, for an app reachable from elsewhere without sign-in, how to set it up.
What counts as what is decided in :mod:`cers_app.access`; this module only asks Streamlit
(secrets, ``st.user``, where the server listens, the browser's headers) and draws.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

import streamlit as st

from cers_app.access import Role, Visitor, reachable_from_elsewhere, read_sign_in, signed_in_email
from cers_core.errors import SettingsError

__all__ = ["door", "show_visitor"]

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~$@:])")


def door() -> Visitor:
    """Who is using this session; draws what a person who may not go further sees, and stops."""
    try:
        sign_in = read_sign_in(_secrets())
    except SettingsError as error:
        st.error(f"**Sign-in is not set up correctly.** {error}", icon=":material/lock:")
        st.stop()
    if sign_in is None:
        elsewhere = reachable_from_elsewhere(st.get_option("server.address"), st.context.headers)
        if elsewhere is None:
            return Visitor(role=Role.administrator)
        _how_to_set_up_sign_in(elsewhere)
    user = st.user.to_dict()
    if not user.get("is_logged_in"):
        _sign_in_page(sign_in.providers)
    email = signed_in_email(user)
    role = sign_in.access.role_of(email) if email else None
    if role is None:
        _refusal_page(email)
    return Visitor(role=role, email=email)


def show_visitor(visitor: Visitor) -> None:
    """Who is signed in, and the sign-out button; without sign-in, a discreet note saying so."""
    if visitor.email is None:
        st.caption(
            ":material/lock_open: No sign-in: this app is open on this computer only, and whoever uses it "
            "is an administrator. To share it, set up sign-in (README, Deploying)."
        )
        return
    st.caption(f"Signed in as {_plain(visitor.email)} · {visitor.role.value}")
    st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=st.logout)


def _sign_in_page(providers: tuple[str, ...]) -> NoReturn:
    st.title("CERS Section Groups")
    st.write(
        "This app holds your district's rosters and the credentials that read them. "
        "Sign in with your district account to continue."
    )
    for provider in providers:
        label = "Sign in" if provider == "default" else f"Sign in with {provider}"
        if st.button(label, key=f"sign_in_{provider}", type="primary", icon=":material/login:"):
            st.login(provider)
    st.stop()


def _refusal_page(email: str | None) -> NoReturn:
    st.title("No access")
    if email is None:
        st.write(
            "Your identity provider did not give this app a verified e-mail address, so it cannot tell "
            "who you are. Ask your district's IT staff."
        )
    else:
        st.write(
            f"You are signed in as {_plain(email)}, which may not use this app. If you should, ask your "
            "district's IT staff to add you, then sign in again."
        )
    st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=st.logout)
    st.stop()


def _how_to_set_up_sign_in(elsewhere: str) -> NoReturn:
    st.title("Sign-in is not set up")
    st.error(
        f"This app holds saved credentials and shows student data, and {elsewhere}, so other computers "
        "may reach it. Without sign-in it shows nothing.",
        icon=":material/lock:",
    )
    st.markdown(
        "To use it from other computers, set up sign-in in `.streamlit/secrets.toml` (see README "
        "“Deploying” and `.streamlit/secrets.toml.example`):\n\n"
        "- `[auth]`: your identity provider (Google Workspace, Microsoft Entra ID or any OpenID Connect "
        "provider): `redirect_uri`, `cookie_secret`, `client_id`, `client_secret`, `server_metadata_url`;\n"
        "- `[cers.access]`: who may sign in, as `administrators` or `analysts` (addresses, or `@district.org` "
        "for everyone there).\n\n"
        "Or keep it on this computer only: start it with `--server.address 127.0.0.1` and open "
        "<http://localhost:8501>."
    )
    st.stop()


def _secrets() -> dict[str, Any]:
    """``.streamlit/secrets.toml`` as a dict; empty when there is none."""
    try:
        return st.secrets.to_dict()
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return {}


def _plain(text: str) -> str:
    """``text`` shown as it is in Markdown: an address from the identity provider is not ours to format,
    nor to turn into a link (escaping ``@`` and ``:`` keeps Markdown from linking it)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
