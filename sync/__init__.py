"""The field sync endpoint: pull of route changes, push of offline reads (issue 8).

``docs/sync-protocol.md`` is the contract with the handset. Modules:

- ``conflicts``: the conflict rules, pure functions over plain values;
- ``protocol``: parsing and validating what a device pushes;
- ``devices``: enrolment, revocable credentials, request authentication;
- ``push`` and ``pull``: the use cases (``pull`` also has the route changes devices
  must hear about: moving a meter, handing a route to another reader);
- ``photos``: resumable photo upload;
- ``support``: what a device sent and what happened to it, for staff;
- ``routes``: the Starlette routes, mounted under ``/sync``.
"""
