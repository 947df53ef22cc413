"""Partner applications: client credentials at /oauth/token, scopes, and customers' consents."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime

from api_helpers import Api, error_codes

from domain.enums import Role
from store.models import Consent
from tests import factories as f

TOKEN_URL = "/oauth/token"
BILLS = "{ myBills { edges { node { id account { number } } } } }"
USAGE = "query($a: ID!) { usage(accountId: $a, granularity: DAILY) { current { totalWh } } }"


def test_client_credentials_grant_in_a_form_json_or_basic_auth(api: Api) -> None:
    client = api.run(f.partner, ["bills:read", "usage:read"])
    form = api.client.post(
        TOKEN_URL,
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": f.PARTNER_SECRET,
        },
    )
    assert form.status_code == 200, form.text
    body = form.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "bills:read usage:read"
    assert body["expires_in"] == api.settings.partner_token_ttl_s
    assert form.headers["cache-control"] == "no-store"

    narrowed = api.client.post(
        TOKEN_URL,
        json={"grant_type": "client_credentials", "client_id": client.client_id,
              "client_secret": f.PARTNER_SECRET, "scope": "bills:read"},
    )  # fmt: skip
    assert narrowed.json()["scope"] == "bills:read"

    basic = base64.b64encode(f"{client.client_id}:{f.PARTNER_SECRET}".encode()).decode()
    via_basic = api.client.post(TOKEN_URL, data={"grant_type": "client_credentials"},
                                headers={"Authorization": f"Basic {basic}"})  # fmt: skip
    assert via_basic.status_code == 200


def test_token_endpoint_errors_follow_the_rfc(api: Api) -> None:
    client = api.run(f.partner, ["bills:read"])
    off = api.run(f.partner, ["bills:read"], active=False)

    def post(**fields: str) -> tuple[int, str]:
        response = api.client.post(TOKEN_URL, data=fields)
        return response.status_code, response.json()["error"]

    good = {"client_id": client.client_id, "client_secret": f.PARTNER_SECRET}
    assert post(**good) == (400, "invalid_request")  # no grant_type
    assert post(grant_type="password", **good) == (400, "unsupported_grant_type")
    assert post(
        grant_type="client_credentials", client_id=client.client_id, client_secret="wrong"
    ) == (401, "invalid_client")
    assert post(grant_type="client_credentials", client_id="nobody", client_secret="x") == (
        401,
        "invalid_client",
    )
    assert post(
        grant_type="client_credentials", client_id=off.client_id, client_secret=f.PARTNER_SECRET
    ) == (401, "invalid_client")
    assert post(grant_type="client_credentials", scope="usage:read", **good) == (
        400,
        "invalid_scope",
    )
    assert (
        api.client.post(
            TOKEN_URL, content=b"{", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )


def test_partners_see_only_consented_customers_within_their_scopes(api: Api) -> None:
    consenting, other = api.run(f.household), api.run(f.household)
    mine = api.run(f.bill, consenting, date(2020, 1, 1))
    api.run(f.bill, other, date(2020, 1, 1))
    client = api.run(f.partner, ["bills:read", "usage:read"])
    customer_token = api.token(consenting.user)
    grant = api.data(
        "mutation($i: GrantConsentInput!) { grantConsent(input: $i) { __typename ... on ConsentSuccess { consent { id scopes clientId } } } }",
        {"i": {"clientId": client.client_id, "scopes": ["bills:read"]}}, token=customer_token,
    )["grantConsent"]  # fmt: skip
    assert (
        grant["consent"]["scopes"] == ["bills:read"]
        and grant["consent"]["clientId"] == client.client_id
    )
    token = api.partner_token(client)

    bills = api.data(BILLS, token=token)["myBills"]["edges"]
    assert [e["node"]["id"] for e in bills] == [str(mine.id)]
    accounts = api.data("{ myAccounts { number } }", token=token)["myAccounts"]
    assert accounts == [{"number": consenting.account.number}]
    # usage:read was granted to the client but not consented to by the customer
    body = api.gql(USAGE, {"a": str(consenting.account.id)}, token=token)
    assert error_codes(body) == ["NOT_FOUND"]
    # a partner is not a person and not staff
    assert error_codes(api.gql("{ me { email } }", token=token)) == ["FORBIDDEN"]
    assert error_codes(api.gql("{ customers { edges { node { id } } } }", token=token)) == [
        "FORBIDDEN"
    ]

    # the customer revokes: the partner sees nothing, at once
    consent_id = grant["consent"]["id"]
    revoked = api.data(
        "mutation($id: ID!) { revokeConsent(consentId: $id) { __typename } }", {"id": consent_id},
        token=customer_token,
    )  # fmt: skip
    assert revoked["revokeConsent"]["__typename"] == "ConsentSuccess"
    assert api.data(BILLS, token=token)["myBills"]["edges"] == []
    assert error_codes(
        api.gql("query($id: ID!) { bill(id: $id) { id } }", {"id": str(mine.id)}, token=token)
    ) == ["NOT_FOUND"]


def test_a_token_without_the_scope_is_forbidden(api: Api) -> None:
    home = api.run(f.household)
    client = api.run(f.partner, ["usage:read"])
    api.run(
        Consent.create,
        partner=client,
        customer=home.customer,
        scopes=["usage:read"],
        granted_at=datetime.now(UTC),
    )
    token = api.partner_token(client)
    body = api.gql(BILLS, token=token)
    assert error_codes(body) == ["FORBIDDEN"]
    assert "bills:read" in body["errors"][0]["message"]
    usage = api.data(USAGE, {"a": str(home.account.id)}, token=token)
    assert usage["usage"]["current"]["totalWh"] == 0


def test_consent_to_one_account_only(api: Api) -> None:
    home = api.run(f.household)
    second = api.run(f.second_account, home)
    client = api.run(f.partner, ["bills:read"])
    api.run(f.bill, home, date(2020, 1, 1))
    only = api.run(f.bill, second, date(2020, 1, 1))
    api.run(
        Consent.create, partner=client, customer=home.customer, account=second.account,
        scopes=["bills:read"], granted_at=datetime.now(UTC),
    )  # fmt: skip
    token = api.partner_token(client)
    assert [e["node"]["id"] for e in api.data(BILLS, token=token)["myBills"]["edges"]] == [
        str(only.id)
    ]


def test_admins_manage_partner_clients(api: Api) -> None:
    admin, staff = api.run(f.user, Role.ADMIN), api.run(f.user, Role.STAFF)
    create = """mutation($i: CreatePartnerClientInput!) { createPartnerClient(input: $i) {
      __typename ... on PartnerClientSecret { clientSecret partnerClient { id clientId scopes } }
      ... on PartnerError { code field } } }"""
    refused = api.gql(
        create, {"i": {"name": "X", "scopes": ["bills:read"]}}, token=api.token(staff)
    )
    assert error_codes(refused) == ["FORBIDDEN"]
    bad = api.data(create, {"i": {"name": "X", "scopes": ["everything"]}}, token=api.token(admin))
    assert bad["createPartnerClient"] == {
        "__typename": "PartnerError",
        "code": "INVALID_INPUT",
        "field": "scopes",
    }
    made = api.data(
        create, {"i": {"name": "Meter Pal", "scopes": ["usage:read"]}}, token=api.token(admin)
    )
    created = made["createPartnerClient"]
    client_id, secret = created["partnerClient"]["clientId"], created["clientSecret"]
    response = api.client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200 and response.json()["scope"] == "usage:read"
    partner_id = created["partnerClient"]["id"]
    off = api.data(
        "mutation($id: ID!) { setPartnerActive(partnerId: $id, active: false) { __typename } }",
        {"id": partner_id}, token=api.token(admin),
    )  # fmt: skip
    assert off["setPartnerActive"]["__typename"] == "PartnerClientSuccess"
    again = api.client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert again.status_code == 401


def test_a_switched_off_client_sees_nothing_even_with_a_live_token(api: Api) -> None:
    home = api.run(f.household)
    api.run(f.bill, home, date(2020, 1, 1))
    client = api.run(f.partner, ["bills:read"])
    api.run(
        Consent.create,
        partner=client,
        customer=home.customer,
        scopes=["bills:read"],
        granted_at=datetime.now(UTC),
    )
    token = api.partner_token(client)
    assert len(api.data(BILLS, token=token)["myBills"]["edges"]) == 1
    api.run(f.deactivate, client)
    assert api.data(BILLS, token=token)["myBills"]["edges"] == []
