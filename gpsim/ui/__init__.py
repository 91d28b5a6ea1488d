"""The workshop UI: a Solara app (``gpsim ui``) for moving sliders and watching organisations form and fail.

- :mod:`gpsim.ui.session`: one run per browser session (parameters waiting for Reset, the model, run "A").
- :mod:`gpsim.ui.figures`: the map and the charts (matplotlib, fixed positions, PNG bytes).
- :mod:`gpsim.ui.app`: the Solara page.
- :mod:`gpsim.ui.cli`: the ``gpsim ui`` command.

docs/UI.md explains how to run it for a workshop.
"""
