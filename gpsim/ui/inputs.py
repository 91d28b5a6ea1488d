# ruff: noqa: N802  (Solara components are named like classes)
"""A text box and a slider whose changes reach the server before any click that follows them.

Solara's ``InputInt`` and ``InputText`` hand over what was typed when the box loses focus or on Enter, reading
the box's value as the server last heard it. But the page holds a box's value back while the server has not yet
answered the box's previous update (ipywidgets' message throttle), and sends a button's click at once. So with a
busy server or a quick typist, "12" typed and Reset clicked straight away could reach the server as "1" (or the
old value) and start the run with the wrong seed. :func:`TypedBox` listens to the text field's own ``input``
event instead: it goes out on every keystroke, in order with the clicks after it, and carries the text itself.
Sliders have the same race (five quick key presses, then Reset, ran with the first step): :func:`MovedSlider`
listens to the slider's ``input`` event in the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import ipyvue
import solara

#: Events after which the rest of the page catches up with the box (banner, Reset's label, the box's message).
DONE_EVENTS = ("focusout", "keyup.enter")


@solara.component
def TypedBox(
    text: str,
    on_text: Callable[[str], None],
    on_done: Callable[[], None],
    label: str = "",
    error: str | None = None,
    classes: list[str] | None = None,
):
    """A one-line text box.

    Args:
        text: What the box shows (what was typed, or the value the server holds).
        on_text: Called with the box's whole text on every keystroke, before any click made after it. It should
            only record the text: redrawing the box while someone types could undo keystrokes still on their way.
        on_done: Called when the box loses focus or on Enter: the time to redraw what depends on the text.
        label: The box's label.
        error: A message shown under the box (and the box in red), or None.
        classes: CSS classes for the box.
    """
    on_text_ref = solara.use_ref(on_text)
    on_text_ref.current = on_text
    on_done_ref = solara.use_ref(on_done)
    on_done_ref.current = on_done
    field = solara.v.TextField(
        v_model=text,
        label=label,
        dense=True,
        hide_details="auto",
        error=bool(error),
        messages=[error] if error else [],
        class_=" ".join(classes or []),
    )

    def listen():
        widget = solara.get_widget(field)
        assert isinstance(widget, ipyvue.VueWidget)

        def typed(_widget, _event, data) -> None:
            on_text_ref.current("" if data is None else str(data))  # None: the box was cleared

        def done(_widget, _event, _data) -> None:
            on_done_ref.current()

        widget.on_event("input", typed)
        for event in DONE_EVENTS:
            widget.on_event(event, done)

        def cleanup() -> None:
            widget.on_event("input", typed, remove=True)
            for event in DONE_EVENTS:
                widget.on_event(event, done, remove=True)

        return cleanup

    solara.use_effect(listen, [])
    return field


@solara.component
def MovedSlider(
    value: float,
    min: float,
    max: float,
    step: float,
    on_move: Callable[[float], None],
    on_value: Callable[[float], None],
):
    """A slider whose every move reaches the server before any click that follows it.

    The page holds a slider's value back while the server has not answered its previous update, as it does a text
    box's, and sends a click at once: five quick key presses and Reset straight after could start the run with the
    first step. The slider's own ``input`` event goes out on every move, in order with the clicks after it.

    Args:
        value: The value the slider shows.
        min: The left end.
        max: The right end.
        step: The distance between positions.
        on_move: Called with the value on every move (a key press, each moment of a drag), before any click made
            after it. It should only record the value: redrawing the slider mid-drag would fight the hand.
        on_value: Called when the page's value of the slider reaches the server (after a move, possibly several
            moves at once): the time to redraw what depends on the value.
    """
    on_move_ref = solara.use_ref(on_move)
    on_move_ref.current = on_move
    slider = solara.v.Slider(
        v_model=value, on_v_model=on_value, min=min, max=max, step=step, thumb_label=True, hide_details=True
    )

    def listen():
        widget = solara.get_widget(slider)
        assert isinstance(widget, ipyvue.VueWidget)

        def moved(_widget, _event, data) -> None:
            if isinstance(data, int | float) and not isinstance(data, bool):
                on_move_ref.current(data)

        widget.on_event("input", moved)
        return lambda: widget.on_event("input", moved, remove=True)

    solara.use_effect(listen, [])
    return slider
