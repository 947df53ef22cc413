"""Every root field declares who may use it, or stands on the short list of public ones.

A new query or mutation without ``extensions=requires(...)`` would be open to anyone;
this test makes that a failure rather than a leak.
"""

from __future__ import annotations

from strawberry.permission import PermissionExtension

from api.schema.root import schema

PUBLIC = {
    ("Query", "health"),  # liveness for monitors, no data
    ("Mutation", "signUp"),  # a customer proves who they are with their account details
    ("Mutation", "signIn"),
    ("Mutation", "refreshSession"),  # the refresh token is the credential
    ("Mutation", "requestSignInCode"),  # same answer whether or not the login exists; throttled
    ("Mutation", "signInWithCode"),  # the one-time code is the credential
    ("Mutation", "resetPasswordWithCode"),
}


def test_every_root_field_declares_its_permission() -> None:
    found = set()
    for root in ("Query", "Mutation", "Subscription"):
        definition = schema.get_type_by_name(root)
        assert definition is not None
        for field in definition.fields:  # type: ignore[union-attr]
            name = schema.config.name_converter.get_graphql_name(field)
            if not any(isinstance(e, PermissionExtension) for e in field.extensions):
                found.add((root, name))
    assert found == PUBLIC, "declare extensions=requires(...) or justify the field in PUBLIC"
