"""Who may open the app, and as what: the allow-list, the sign-in settings, and when no sign-in is needed."""

from __future__ import annotations

import pytest

from cers_app.access import AccessList, Role, reachable_from_elsewhere, read_sign_in, signed_in_email
from cers_core.errors import SettingsError

ACCESS = AccessList(administrators=["it@district.org", "Data.Lead@District.org"], analysts=["@district.org"])
AUTH = {
    "redirect_uri": "https://cers.district.org/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "cers-app",
    "client_secret": "from-the-provider",
    "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
}
ACCESS_SECTION = {"administrators": ["it@district.org"], "analysts": ["@district.org"]}


@pytest.mark.parametrize(
    ("email", "role"),
    [
        ("it@district.org", Role.administrator),
        ("IT@DISTRICT.ORG", Role.administrator),  # addresses compare ignoring case
        ("data.lead@district.org", Role.administrator),
        ("teacher@district.org", Role.analyst),  # the domain entry
        ("it@district.org.evil.example", None),  # a domain is the whole part after "@"
        ("teacher@sub.district.org", None),  # not its subdomains
        ("teacher@notdistrict.org", None),
        ("district.org@gmail.com", None),
        ("", None),
    ],
)
def test_the_allow_list_gives_each_address_its_role(email: str, role: Role | None) -> None:
    assert ACCESS.role_of(email) is role


def test_an_administrator_may_do_all_an_analyst_may_and_not_the_other_way() -> None:
    assert Role.administrator.allows(Role.analyst) and Role.administrator.allows(Role.administrator)
    assert Role.analyst.allows(Role.analyst) and not Role.analyst.allows(Role.administrator)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"administrators": ["district.org"]}, "for everyone at district.org, write @district.org"),
        ({"analysts": ["*@district.org"]}, "wildcards are not needed"),
        ({"analysts": ["it@district"]}, "“it@district” is neither an address"),
        ({"analysts": ["two words@district.org"]}, "is neither an address"),
        ({"analysts": [42]}, "42 is not text"),
        ({"analysts": {"a": 1}}, "write a list in brackets"),
        ({}, "it lists nobody"),
        ({"administrators": [], "analysts": []}, "it lists nobody"),
        ({"admins": ["it@district.org"]}, "admins: this setting is unknown"),
    ],
)
def test_a_bad_allow_list_says_what_to_write(section: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        read_sign_in({"auth": AUTH, "cers": {"access": section}})
    assert str(raised.value).startswith("[cers.access] in .streamlit/secrets.toml cannot be used:")
    assert message in str(raised.value)
    assert raised.value.field == "cers.access"


def test_a_single_address_may_be_written_without_brackets() -> None:
    sign_in = read_sign_in({"auth": AUTH, "cers": {"access": {"administrators": "IT@district.org"}}})
    assert sign_in is not None
    assert sign_in.access == AccessList(administrators=("it@district.org",))
    assert sign_in.providers == ("default",)


def test_no_auth_section_means_no_sign_in() -> None:
    assert read_sign_in({}) is None
    assert read_sign_in({"cers": {"secret_key": "k"}}) is None


def test_an_allow_list_without_sign_in_is_refused_rather_than_ignored() -> None:
    with pytest.raises(SettingsError, match=r"\[cers.access\] is set, but sign-in is not"):
        read_sign_in({"cers": {"access": ACCESS_SECTION}})


def test_sign_in_without_an_allow_list_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"nobody is allowed in: \[cers.access\] is missing"):
        read_sign_in({"auth": AUTH})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"redirect_uri": None}, "redirect_uri is missing"),
        ({"redirect_uri": "https://cers.district.org/"}, "redirect_uri must end with /oauth2callback"),
        ({"redirect_uri": "http://cers.district.org/oauth2callback"}, "redirect_uri must use https://"),
        ({"cookie_secret": "short"}, "cookie_secret must be a random text of at least 32 characters"),
        ({"client_secret": None}, "client_secret missing"),
        ({"client_id": None, "client_secret": None, "server_metadata_url": None}, "no identity provider"),
        ({"server_metadata_url": "http://idp.district.org/.well-known/x"}, "server_metadata_url must use https://"),
        ({"server_metadata_url": "idp.district.org"}, "must be a full web address"),
    ],
)
def test_bad_sign_in_settings_say_what_to_fix(change: dict[str, object], message: str) -> None:
    auth = {key: value for key, value in {**AUTH, **change}.items() if value is not None}
    with pytest.raises(SettingsError) as raised:
        read_sign_in({"auth": auth, "cers": {"access": ACCESS_SECTION}})
    assert str(raised.value).startswith("Sign-in ([auth] in .streamlit/secrets.toml) cannot be used:")
    assert message in str(raised.value)
    assert "from-the-provider" not in str(raised.value)


def test_named_providers_each_get_checked_and_offered() -> None:
    shared = {"redirect_uri": "http://localhost:{port}/oauth2callback", "cookie_secret": "y" * 40}
    google = {key: AUTH[key] for key in ("client_id", "client_secret", "server_metadata_url")}
    auth = {**shared, "google": google, "microsoft": {**google, "server_metadata_url": "https://login.example/x"}}
    sign_in = read_sign_in({"auth": auth, "cers": {"access": ACCESS_SECTION}})
    assert sign_in is not None and sign_in.providers == ("google", "microsoft")
    with pytest.raises(SettingsError, match=r"\[auth.microsoft\] client_id missing"):
        read_sign_in({"auth": {**auth, "microsoft": {"client_secret": "s", "server_metadata_url": "https://x/y"}},
                      "cers": {"access": ACCESS_SECTION}})  # fmt: skip


@pytest.mark.parametrize(
    ("claims", "email"),
    [
        ({"is_logged_in": True, "email": "It@District.org"}, "it@district.org"),  # Entra ID sends no email_verified
        ({"is_logged_in": True, "email": "it@district.org", "email_verified": True}, "it@district.org"),
        ({"is_logged_in": True, "email": "it@district.org", "email_verified": "true"}, "it@district.org"),
        ({"is_logged_in": True, "email": "it@district.org", "email_verified": False}, None),
        ({"is_logged_in": True, "email": "it@district.org", "email_verified": "false"}, None),
        ({"is_logged_in": True, "name": "No Address"}, None),
        ({"is_logged_in": False, "email": "it@district.org"}, None),
        ({"email": "test@example.com"}, None),
    ],
)
def test_only_a_verified_address_of_a_signed_in_person_counts(claims: dict[str, object], email: str | None) -> None:
    assert signed_in_email(claims) == email


@pytest.mark.parametrize(
    ("listening", "headers", "elsewhere"),
    [
        ("127.0.0.1", {"Host": "localhost:8501"}, None),
        ("127.0.0.1", {"Host": "127.0.0.1:8501"}, None),
        ("localhost", {"Host": "[::1]:8501"}, None),
        ("127.0.0.1", {}, None),  # a script run without a browser (AppTest)
        (None, {"Host": "localhost:8501"}, "it listens on every network interface"),
        ("", {}, "it listens on every network interface"),
        ("0.0.0.0", {"Host": "localhost:8501"}, "it listens on every network interface"),
        ("10.0.0.5", {"Host": "10.0.0.5:8501"}, "it listens on 10.0.0.5"),
        ("127.0.0.1", {"Host": "localhost", "X-Forwarded-For": "10.1.2.3"}, "it is reached through a proxy"),
        ("127.0.0.1", {"host": "localhost", "forwarded": "for=10.1.2.3"}, "it is reached through a proxy"),
        ("127.0.0.1", {"Host": "127.0.0.1", "X-Real-IP": "10.1.2.3"}, "it is reached through a proxy"),
        # A proxy that passes the public name on, or a page whose name was rebound to 127.0.0.1:
        ("127.0.0.1", {"Host": "cers.district.org"}, "it is reached under a name other than localhost"),
        ("127.0.0.1", {"Host": "rebind.attacker.example:8501"}, "it is reached under a name other than localhost"),
    ],
)
def test_without_sign_in_only_a_browser_on_this_computer_gets_in(
    listening: str | None, headers: dict[str, str], elsewhere: str | None
) -> None:
    assert reachable_from_elsewhere(listening, headers) == elsewhere
