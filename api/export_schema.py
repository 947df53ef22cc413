"""Print the GraphQL SDL: ``python -m api.export_schema > docs/schema.graphql`` (``make schema``)."""

from __future__ import annotations

from api.schema.root import schema


def sdl() -> str:
    return schema.as_str() + "\n"


if __name__ == "__main__":
    print(sdl(), end="")
