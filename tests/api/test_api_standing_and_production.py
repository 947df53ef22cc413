"""A token's power ends with its bearer's standing; production mode keeps the schema closed.

Issue 12: a staff token kept its power for 15 minutes after the user was deactivated or
demoted; in production, anonymous introspection was answered, GraphiQL served,
"Did you mean" suggestions given, and introspection escaped the depth limit.
"""

from __future__ import annotations

from api_helpers import Api, MakeApi, error_codes
from graphql import get_introspection_query

from domain.enums import Role
from store.models import User
from tests import factories as f

ME = "{ me { role } }"
SIGN_IN = """mutation($l: String!, $p: String!) { signIn(input: {login: $l, password: $p}) {
  __typename ... on AuthPayload { accessToken refreshToken } } }"""
SIGN_OUT = """mutation($t: String) { signOut(input: {refreshToken: $t}) { __typename } }"""
INTROSPECTION = "{ __schema { queryType { name } } }"


def nested_introspection(depth: int) -> str:
    inner = "name"
    for _ in range(depth - 3):
        inner = f"ofType {{ {inner} }}"
    return f"{{ __schema {{ types {{ fields {{ type {{ {inner} }} }} }} }} }}"


def test_a_demoted_or_deactivated_persons_token_stops_at_once(make_api: MakeApi) -> None:
    api = make_api(GRIDBILL_SESSION_CHECK_TTL="0")
    staff = api.run(f.user, Role.STAFF)
    token = api.token(staff)
    assert api.data(ME, token=token) == {"me": {"role": "STAFF"}}
    api.run(User.filter(id=staff.id).update, role=Role.CUSTOMER)
    demoted = api.gql(ME, token=token)
    assert error_codes(demoted) == ["UNAUTHENTICATED"]
    assert "role has changed" in demoted["errors"][0]["message"]
    api.run(User.filter(id=staff.id).update, role=Role.STAFF, is_active=False)
    gone = api.gql(ME, token=token)
    assert error_codes(gone) == ["UNAUTHENTICATED"]
    assert "not active" in gone["errors"][0]["message"]


def test_signing_out_ends_the_access_token_too(api: Api) -> None:
    person = api.run(f.user, Role.STAFF)
    session = api.data(SIGN_IN, {"l": person.email, "p": f.PASSWORD})["signIn"]
    token = session["accessToken"]
    assert api.data(ME, token=token) == {"me": {"role": "STAFF"}}
    api.data(SIGN_OUT, {"t": session["refreshToken"]}, token=token)
    ended = api.gql(ME, token=token)
    assert error_codes(ended) == ["UNAUTHENTICATED"]
    assert "signed out" in ended["errors"][0]["message"]


def test_production_keeps_introspection_to_staff_and_hides_suggestions(
    make_api: MakeApi,
) -> None:
    api = make_api(GRIDBILL_ENV="production")
    anonymous = api.gql(INTROSPECTION)
    assert anonymous.get("data") is None and "introspection" in anonymous["errors"][0]["message"]
    customer = api.run(f.household).user
    assert api.gql(INTROSPECTION, token=api.token(customer)).get("data") is None
    staff = api.token(api.run(f.user, Role.STAFF))
    assert api.data(INTROSPECTION, token=staff) == {"__schema": {"queryType": {"name": "Query"}}}
    assert api.data("{ __typename }") == {"__typename": "Query"}

    typo = api.gql("{ mee { role } }")
    assert "Cannot query field 'mee'" in typo["errors"][0]["message"]
    assert "Did you mean" not in typo["errors"][0]["message"]
    variables = api.gql(
        "mutation($i: SignInInput!) { signIn(input: $i) { __typename } }",
        {"i": {"logn": "a", "password": "b"}},
    )
    assert all("Did you mean" not in e["message"] for e in variables["errors"])

    page = api.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 404 and "graphiql" not in page.text.lower()

    deep = api.gql(nested_introspection(20), token=staff)
    assert "exceeds maximum operation depth of 16" in deep["errors"][0]["message"]
    # GraphiQL's own introspection query (13 levels of ofType) is what staff's docs need.
    full = api.gql(get_introspection_query(descriptions=True), token=staff)
    assert "errors" not in full and full["data"]["__schema"]["queryType"]["name"] == "Query"


def test_development_keeps_its_conveniences_and_settings_can_open_production(
    make_api: MakeApi,
) -> None:
    dev = make_api()
    assert "Did you mean 'me'" in dev.gql("{ mee { role } }")["errors"][0]["message"]
    assert dev.data(INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}
    assert "graphiql" in dev.client.get("/graphql", headers={"accept": "text/html"}).text.lower()
    assert (
        "exceeds maximum operation depth"
        in dev.gql(nested_introspection(20))["errors"][0]["message"]
    )
    opened = make_api(
        GRIDBILL_ENV="production", GRIDBILL_INTROSPECTION="anyone", GRIDBILL_GRAPHIQL="on"
    )
    assert opened.data(INTROSPECTION) == {"__schema": {"queryType": {"name": "Query"}}}
    page = opened.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    closed = make_api(GRIDBILL_INTROSPECTION="off")
    staff = closed.token(closed.run(f.user, Role.STAFF))
    assert closed.gql(INTROSPECTION, token=staff).get("data") is None
