"""The ``gridbill`` command: one module per subcommand, each a thin door onto ``services``.

It stands on top of every other package; nothing imports it.
"""
