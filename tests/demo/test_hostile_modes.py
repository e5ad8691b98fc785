"""The demo provider's hostile modes, as a client on the wire sees them, and the ``--hostile`` flag that asks
for each. (What our clients do about them: ``tests/oneroster/test_hostile.py``, ``tests/cers_import/test_hostile.py``,
``tests/cli/test_hostile_memory.py``.)"""

from __future__ import annotations

import io
import time

import httpx
import pytest

from cers_core.cli import _parser, main
from cers_demo import DemoDistrict, DemoProvider, DemoServer, ProviderOptions
from cers_demo.faults import Hostile, HostileMode
from cers_demo.provider.hostile import MARKUP
from cers_demo.provider_flags import provider_options
from tests.demo.test_provider import api, get_token, offsets
from tests.support import http_client


def provider(district: DemoDistrict, *modes: Hostile, **options: object) -> DemoProvider:
    return DemoProvider(district, options=ProviderOptions(hostile=modes, **options))


def test_every_mode_has_a_flag():
    flags = ["trickle,seconds=0.5", "silent", "silent-token", "cycle-link", "huge-total", "huge-page,size=1000"]
    flags += ["endless-body", "deep-json,target=token", "echo-credentials", "redirect-to=http://127.0.0.2:9"]
    flags += ["markup-names"]
    args = _parser(demo=True).parse_args(["demo-server", *(word for flag in flags for word in ("--hostile", flag))])
    assert provider_options(args).hostile == (
        Hostile(mode="trickle", seconds=0.5),
        Hostile(mode="silent"),
        Hostile(mode="silent-token"),
        Hostile(mode="cycle-link"),
        Hostile(mode="huge-total"),
        Hostile(mode="huge-page", size=1000),
        Hostile(mode="endless-body"),
        Hostile(mode="deep-json", target="token"),
        Hostile(mode="echo-credentials"),
        Hostile(mode="redirect-to", url="http://127.0.0.2:9"),
        Hostile(mode="markup-names"),
    )
    assert {h.mode for h in provider_options(args).hostile} == set(HostileMode)


@pytest.mark.parametrize(
    ("flag", "message"),
    [("nope", "modes: trickle, silent"), ("redirect-to", "needs a URL"), ("trickle,seconds=0", "seconds")],
)
def test_a_bad_hostile_flag_is_a_usage_error(flag, message):
    err = io.StringIO()
    assert main(["demo-server", "--hostile", flag], out=io.StringIO(), err=err) == 2
    assert message in err.getvalue()


def test_huge_total_promises_a_trillion_records_and_serves_the_real_ones(demo_district):
    with api(provider(demo_district, Hostile(mode="huge-total"))) as client:
        answer = client.get("schools")
    assert answer.headers["X-Total-Count"] == "1000000000000"
    assert len(answer.json()["orgs"]) == 3


def test_cycle_link_leads_from_the_first_page_to_the_second_and_back(demo_district):
    with api(provider(demo_district, Hostile(mode="cycle-link"))) as client:
        first, second = client.get("users?limit=10"), client.get("users?limit=10&offset=10")
    assert offsets(first) == {"next": 10} and offsets(second) == {"next": 0}
    assert "X-Total-Count" not in first.headers


@pytest.mark.parametrize("target", ["data", "token"])
def test_deep_json_is_nested_as_deep_as_asked(demo_district, target):
    hostile = provider(demo_district, Hostile(mode="deep-json", target=target, depth=5))
    with http_client(hostile) as client:
        if target == "token":
            answer = client.post(hostile.token_url, data={"grant_type": "client_credentials"})
        else:
            answer = client.get(f"{hostile.base_url}/classes")
    key = "access_token" if target == "token" else "classes"
    assert answer.status_code == 200 and answer.text == f'{{"{key}":[[[[[]]]]]}}'


def test_echo_credentials_quotes_the_request_as_it_came(demo_district):
    hostile = provider(demo_district, Hostile(mode="echo-credentials"))
    with http_client(hostile) as client:
        answer = client.post(hostile.token_url, auth=("me", "my secret"), data={"client_secret": "a b"})
    said = answer.json()["error_description"]
    assert answer.status_code == 400
    assert said == "Rejected request. Authorization: Basic bWU6bXkgc2VjcmV0; body: client_secret=a+b"


def test_echo_credentials_on_data_quotes_the_token_and_cookies(demo_district):
    hostile = provider(demo_district, Hostile(mode="echo-credentials", target="data"))
    token = get_token(hostile)
    with http_client(hostile) as client:
        answer = client.get(f"{hostile.base_url}/orgs", headers={"Authorization": f"Bearer {token}", "Cookie": "a=1"})
    assert answer.status_code == 400
    assert answer.json()["imsx_description"] == f"Rejected request. Authorization: Bearer {token}; Cookie: a=1"


def test_redirect_to_sends_every_request_to_the_same_path_elsewhere(demo_district):
    hostile = provider(demo_district, Hostile(mode="redirect-to", url="http://127.0.0.2:9/x/"))
    with http_client(hostile) as client:
        token = client.post(hostile.token_url + "?appName=d")
        data = client.get(f"{hostile.base_url}/orgs?limit=5")
    assert token.status_code == data.status_code == 307
    assert token.headers["Location"] == "http://127.0.0.2:9/x/oauth/token?appName=d"
    assert data.headers["Location"] == "http://127.0.0.2:9/x/ims/oneroster/rostering/v1p2/orgs?limit=5"


def test_markup_names_put_markup_in_school_course_and_teacher_names(demo_district):
    with api(provider(demo_district, Hostile(mode="markup-names"))) as client:
        schools = [s["name"] for s in client.get("schools").json()["orgs"]]
        courses = [c["title"] for c in client.get("courses?limit=5").json()["courses"]]
        teachers = client.get("teachers?limit=5").json()["users"]
        students = client.get("students?limit=5").json()["users"]
    assert all(name.endswith(MARKUP["school"]) for name in schools)
    assert all(title.endswith(MARKUP["course"]) for title in courses)
    assert all(t["familyName"].endswith(MARKUP["teacher"]) for t in teachers)
    assert not any("evil" in s["familyName"] for s in students)


@pytest.mark.parametrize("mode", ["silent", "endless-body"])
def test_in_process_a_mode_that_holds_the_connection_asks_for_a_server(demo_district, mode):
    hostile = provider(demo_district, Hostile(mode=mode))
    with pytest.raises(RuntimeError, match="need a real connection"), http_client(hostile) as client:
        client.get(f"{hostile.base_url}/orgs", headers={"Authorization": f"Bearer {get_token(hostile)}"})


def test_on_a_port_the_trickle_comes_a_byte_at_a_time_and_stops_when_the_client_leaves(demo_district):
    with DemoServer(demo_district, options=ProviderOptions(hostile=(Hostile(mode="trickle", seconds=0.02),))) as server:
        token = get_token(server)
        started = time.monotonic()
        with httpx.stream(
            "GET", f"{server.base_url}/orgs", headers={"Authorization": f"Bearer {token}"}, timeout=5
        ) as answer:
            pieces = []
            for piece in answer.iter_raw():
                pieces.append(piece)
                if len(pieces) == 5:
                    break
        assert answer.status_code == 200 and all(len(p) == 1 for p in pieces)
        assert 0.08 < time.monotonic() - started < 2.0
