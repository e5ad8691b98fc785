"""The demo OpenID Connect provider answers the authorization-code flow as a real one must, and refuses what a
real one refuses: codes only to accepted redirect URIs, once, to the right client, with the right PKCE verifier."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from cers_app.access import Role, read_sign_in
from cers_demo.oidc_provider import DEMO_PEOPLE, DemoOidcOptions, DemoOidcProvider
from tests.support import ROOT, asgi_client

ISSUER = "http://testserver"
CALLBACK = "http://127.0.0.1:8501/oauth2callback"
VERIFIER = "a-pkce-code-verifier-long-enough-to-be-valid-0123456789"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def provider() -> DemoOidcProvider:
    return DemoOidcProvider()


@pytest.fixture
def client(provider: DemoOidcProvider) -> Iterator[httpx.Client]:
    with asgi_client(provider.app, base_url=ISSUER) as client:
        yield client


def asked(**changes: str) -> dict[str, str]:
    """An authorization request as Streamlit's st.login (Authlib) sends it."""
    return {
        "response_type": "code",
        "client_id": "cers-app-demo",
        "redirect_uri": CALLBACK,
        "scope": "openid email profile",
        "state": "state-123",
        "nonce": "nonce-456",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "prompt": "select_account",
        **changes,
    }


def code_for(client: httpx.Client, email: str, **changes: str) -> str:
    """Pick ``email`` on the sign-in page; the code the browser is sent back with."""
    request = asked(**changes)
    fields = {name: request[name] for name in ("client_id", "redirect_uri", "state", "nonce", "scope")}
    fields |= {name: request[name] for name in ("code_challenge", "code_challenge_method")}
    answer = client.post("/authorize", data={**fields, "email": email})
    assert answer.status_code == 303
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == request["redirect_uri"]
    query = parse_qs(back.query)
    assert query["state"] == [request["state"]]
    return query["code"][0]


def exchange(client: httpx.Client, code: str, **changes: str) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": VERIFIER}
    return client.post("/token", data={**form, **changes}, auth=("cers-app-demo", "demo-oidc-secret-not-private"))


def test_discovery_names_every_endpoint_under_the_issuer(client: httpx.Client) -> None:
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["issuer"] == ISSUER
    assert {metadata[k] for k in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")} == {
        f"{ISSUER}/authorize",
        f"{ISSUER}/token",
        f"{ISSUER}/jwks",
        f"{ISSUER}/userinfo",
    }
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]


def test_the_sign_in_page_offers_the_demo_people_and_carries_the_request(client: httpx.Client) -> None:
    page = client.get("/authorize", params=asked(state='"><script>'))
    assert page.status_code == 200
    assert re.findall(r'<button name="email" value="([^"]+)"', page.text) == list(DEMO_PEOPLE)
    assert 'name="state" value="&quot;&gt;&lt;script&gt;"' in page.text  # escaped, not run
    assert page.headers["x-frame-options"] == "DENY"


def test_the_whole_flow_gives_a_signed_id_token_for_the_person_picked(
    client: httpx.Client, provider: DemoOidcProvider
) -> None:
    tokens = exchange(client, code_for(client, "It@Sierravista.Example.org")).json()
    keys = KeySet.import_key_set(client.get("/jwks").json())
    claims = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"]).claims
    assert (claims["iss"], claims["aud"], claims["nonce"]) == (ISSUER, "cers-app-demo", "nonce-456")
    assert (claims["email"], claims["email_verified"], claims["name"]) == ("it@sierravista.example.org", True, "It")
    assert claims["exp"] - claims["iat"] == 3600
    userinfo = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert userinfo["email"] == "it@sierravista.example.org" and userinfo["sub"] == claims["sub"]
    assert provider.signed_in[-1] == "it@sierravista.example.org"


def test_a_code_works_once(client: httpx.Client) -> None:
    code = code_for(client, DEMO_PEOPLE[1])
    assert exchange(client, code).status_code == 200
    again = exchange(client, code)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_verifier": "another-verifier-that-does-not-match-the-challenge-000"}, "invalid_grant"),
        ({"redirect_uri": "http://127.0.0.1:9999/oauth2callback"}, "invalid_grant"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
    ],
)
def test_a_code_is_refused_for_a_wrong_verifier_redirect_or_grant(
    client: httpx.Client, changes: dict[str, str], error: str
) -> None:
    answer = exchange(client, code_for(client, DEMO_PEOPLE[1]), **changes)
    assert (answer.status_code, answer.json()["error"]) == (400, error)


def test_a_wrong_client_secret_gets_no_tokens_and_the_code_stays_unusable_to_it(client: httpx.Client) -> None:
    code = code_for(client, DEMO_PEOPLE[0])
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": VERIFIER}
    answer = client.post("/token", data=form, auth=("cers-app-demo", "guessed"))
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    body = client.post("/token", data={**form, "client_id": "cers-app-demo", "client_secret": "guessed"})
    assert body.status_code == 401


@pytest.mark.parametrize(
    "changes",
    [
        {"client_id": "someone-else"},
        {"redirect_uri": "https://attacker.example/oauth2callback"},  # codes never leave this computer
        {"redirect_uri": "http://127.0.0.1:8501/elsewhere"},
        {"redirect_uri": "not a url"},
    ],
)
def test_an_unknown_client_or_redirect_gets_an_error_page_never_a_redirect(
    client: httpx.Client, changes: dict[str, str]
) -> None:
    page = client.get("/authorize", params=asked(**changes))
    assert page.status_code == 400 and "location" not in page.headers
    assert "Sign-in refused" in page.text
    posted = client.post("/authorize", data={**asked(**changes), "email": DEMO_PEOPLE[0]})
    assert posted.status_code == 400 and "location" not in posted.headers


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "email profile"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
    ],
)
def test_a_bad_request_from_a_known_client_goes_back_with_the_error(
    client: httpx.Client, changes: dict[str, str], error: str
) -> None:
    answer = client.get("/authorize", params=asked(**changes))
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert (answer.status_code, query["error"], query["state"]) == (303, [error], ["state-123"])


def test_a_typed_address_that_is_none_is_asked_again(client: httpx.Client) -> None:
    answer = client.post("/authorize", data={**asked(), "email": "not an address"})
    assert answer.status_code == 400 and "Type an e-mail address" in answer.text


def test_named_redirect_uris_are_the_only_ones_accepted() -> None:
    only = "https://cers.district.org/oauth2callback"
    with asgi_client(DemoOidcProvider(DemoOidcOptions(redirect_uris=(only,))).app, base_url=ISSUER) as client:
        assert client.get("/authorize", params=asked(redirect_uri=only)).status_code == 200
        assert client.get("/authorize", params=asked()).status_code == 400


def test_the_command_prints_where_it_is_first_and_offers_the_people_given() -> None:
    command = [sys.executable, "-m", "cers_core", "demo-oidc-server", "--port", "0", "--person", "a@district.org"]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ}
    ) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            first = json.loads(process.stdout.readline())
            assert set(first) == {"server_metadata_url", "client_id", "client_secret"}
            metadata = httpx.get(first["server_metadata_url"]).json()
            page = httpx.get(metadata["authorization_endpoint"], params=asked(client_id=first["client_id"]))
            assert re.findall(r'<button name="email" value="([^"]+)"', page.text) == ["a@district.org"]
            lines = [process.stderr.readline()]
            while lines[-1] not in ("Press Ctrl-C to stop.\n", ""):
                lines.append(process.stderr.readline())
            snippet = "".join(lines[lines.index("[auth]\n") : lines.index("Press Ctrl-C to stop.\n")])
            sign_in = read_sign_in(tomllib.loads(snippet))  # what it prints is ready to paste
            assert sign_in is not None and sign_in.access.role_of(DEMO_PEOPLE[0]) is Role.administrator
        finally:
            process.terminate()
            process.wait(timeout=20)
