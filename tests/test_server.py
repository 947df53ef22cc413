"""The HTTP surface of the server: probes, GraphQL and GraphiQL, with the lifespan running."""

from __future__ import annotations

from starlette.testclient import TestClient

from api.app import create_app
from gridbill.settings import Settings


def test_probes_and_health_query(settings: Settings, backend: str) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["database"] is True
        answer = client.post(
            "/graphql", json={"query": "{ health { status database databaseReachable timeZone } }"}
        )
        assert answer.status_code == 200
        assert answer.json() == {
            "data": {
                "health": {
                    "status": "ok",
                    "database": "postgresql" if backend == "postgres" else "sqlite",
                    "databaseReachable": True,
                    "timeZone": "Asia/Kolkata",
                }
            }
        }


def test_graphiql_is_served_to_browsers(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        page = client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert "graphiql" in page.text.lower()


def test_bad_graphql_is_an_error_not_a_crash(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        answer = client.post("/graphql", json={"query": "{ nope }"})
        assert answer.status_code == 200
        errors = answer.json()["errors"]
        assert "Cannot query field 'nope'" in errors[0]["message"]
        assert "Traceback" not in answer.text
