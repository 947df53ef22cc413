"""``gridbill demo-data``: a realistic small utility to try gridbill with.

:mod:`demo.generator` decides everything from a seed as plain data (:mod:`demo.plan`),
drawing on :mod:`demo.names`, :mod:`demo.places`, :mod:`demo.tariffs`,
:mod:`demo.holidays`, :mod:`demo.consumption`, :mod:`demo.meters` and
:mod:`demo.readings`; :mod:`demo.loader` writes it through :mod:`demo.writes`,
:mod:`demo.rows` and :mod:`demo.bulk`, and prints :mod:`demo.summary`.
"""
