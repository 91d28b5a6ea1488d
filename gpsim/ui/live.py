"""The live part of the page (status line, map, charts, organisations table) as one browser widget.

The server sends the fixed layers once per run (``base``: the map's outlines, relationships, hospitals and
place names, the charts' axes, run A and bands) and then, each update, only what changed (``frame``: the new
months' rows, the practices whose colour changed, the organisations table). The page draws a frame, then answers
``ack`` with its number once it has painted it; Play waits for that answer before sending the next frame, so the
page is never more than one update behind the server (frames are dropped, never queued).
"""

from __future__ import annotations

from typing import Any

import ipyvuetify
import traitlets


class LiveView(ipyvuetify.VuetifyTemplate):
    """The widget; :class:`gpsim.ui.session.Session` feeds it (see ``Session.attach``)."""

    template_file = (__file__, "assets/live.vue")

    base = traitlets.Any({}).tag(sync=True)
    frame = traitlets.Any({}).tag(sync=True)
    highlight = traitlets.Int(-1).tag(sync=True)
    presenter = traitlets.Bool(False).tag(sync=True)
    show = traitlets.Unicode("all").tag(sync=True)
    debug = traitlets.Bool(False).tag(sync=True)
    #: The page address's query (settings, preset, area, seed): written into the address bar, never read back.
    query = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    #: Called with this widget when the page has loaded its drawing code (and again if it missed a frame).
    on_hello = traitlets.Callable(None, allow_none=True)
    #: Called with a frame number once the page has painted it.
    on_ack = traitlets.Callable(None, allow_none=True)
    #: Called with an organisation number when someone clicks it (map or table).
    on_pick = traitlets.Callable(None, allow_none=True)

    def vue_hello(self, data: Any = None) -> None:
        if self.on_hello is not None:
            self.on_hello(self)

    def vue_ack(self, seq: Any) -> None:
        if self.on_ack is not None and isinstance(seq, int):
            self.on_ack(seq)

    def vue_pick(self, org: Any) -> None:
        if self.on_pick is not None and isinstance(org, int):
            self.on_pick(org)


class RoomAddress(ipyvuetify.VuetifyTemplate):
    """The address participants open, as the facilitator's browser sees this server (host and port)."""

    template = traitlets.Unicode(
        """<template><span class="gpsim-room-url">{{ origin }}/?room={{ code }}</span></template>
<script>
module.exports = { data() { return { origin: window.location.origin }; } };
</script>"""
    ).tag(sync=True)
    code = traitlets.Unicode("").tag(sync=True)
