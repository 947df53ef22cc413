"""The staff console: server-rendered pages under ``/console/`` for the utility's office.

One more door onto the same use cases as GraphQL and the CLI: every page calls the
services with the signed-in staff member as the actor and applies the permissions of
``domain.access``. Jinja2 templates, htmx and the CSS ship in this package; nothing is
loaded from the internet. See docs/console.md.
"""
