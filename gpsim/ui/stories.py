"""Guided stories: short scripted walk-throughs a facilitator starts (or pushes to the whole room).

Each story is a list of steps. A step may choose a preset, change some settings, keep the run so far as A, and
then runs the model to a month and stops there with one sentence saying what to look at. The sentences point
at what to look for rather than quote results, so they stay true when the model's numbers change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StoryStep:
    """One stop: settings to use (``None`` keeps the run going), whether to pin the run as A first, the month
    to run to and the sentence to show."""

    text: str
    run_to: int
    preset: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    pin_first: bool = False

    @property
    def new_run(self) -> bool:
        return self.preset is not None or bool(self.settings)


@dataclass(frozen=True)
class Story:
    title: str
    steps: tuple[StoryStep, ...]


STORIES: dict[str, Story] = {
    "money-stops": Story(
        "What happens when the money stops?",
        (
            StoryStep(
                "Generous one-off money (£10 per patient a year) goes to new organisations for two years, and "
                "nothing recurrent follows. Watch practices join organisations (coloured dots) while it flows.",
                run_to=24,
                preset="funding-cliff",
            ),
            StoryStep(
                "Month 48: two years after the money stopped. Look at the organisations chart: how many of those "
                "that formed are still going, and what the money chart shows after month 24.",
                run_to=48,
            ),
            StoryStep(
                "The same area and seed, but a recurrent network payment (£6 per patient a year) starts as the "
                "one-off money ends. Run A (dashed) is the run without it: compare the two from month 24 on.",
                run_to=48,
                preset="recurrent-funding",
                pin_first=True,
            ),
        ),
    ),
    "thirty-counterparts": Story(
        "Why do hospitals still have 30 counterparts?",
        (
            StoryStep(
                "Five years of the baseline. The relationships chart counts the practices or organisations each "
                "hospital has to deal with; the shaded bands show what full neighbourhood (green) or large (orange) "
                "organisations would give.",
                run_to=60,
                preset="baseline",
            ),
            StoryStep(
                "An organisation only takes relationships off the hospital's hands when its members trust their "
                "leaders enough to be committed by them. Look at the trust column in the organisations table: "
                "below about 50% an organisation cannot commit its members.",
                run_to=60,
            ),
            StoryStep(
                "Now commissioners aim for large federations of 250,000 patients (run A, dashed, is the baseline). "
                "Fewer, bigger organisations: does the hospital's count fall, or does distance erode trust first?",
                run_to=60,
                preset="large-scale",
                pin_first=True,
            ),
        ),
    ),
    "leadership": Story(
        "Heroic or distributed leadership?",
        (
            StoryStep(
                "The baseline: most new organisations rest on one driven ('heroic') leader, who can burn out. Watch "
                "the failures in the organisations table and the reasons given.",
                run_to=72,
                preset="baseline",
            ),
            StoryStep(
                "Nine in ten new organisations now choose a leadership team instead (it costs more but shares the "
                "load). Run A (dashed) is the heroic-leader run: compare organisations going and failed.",
                run_to=72,
                preset="distributed-leadership",
                pin_first=True,
            ),
        ),
    ),
    "network-des": Story(
        "What did the Network DES change?",
        (
            StoryStep(
                "No recurrent money: organisations live on one-off money and their members' subscriptions. Watch "
                "the share of practices in an organisation.",
                run_to=60,
                preset="baseline",
                settings={"recurrent_funding_per_patient": 0.0},
            ),
            StoryStep(
                "The same run with a recurrent payment of £6 per patient a year from month 25 to every network-sized "
                "organisation, as the PCN Network DES pays. Run A (dashed) has none: compare the share in "
                "organisations and the money coming in.",
                run_to=60,
                preset="baseline",
                settings={"recurrent_funding_per_patient": 6.0, "recurrent_funding_start_month": 25},
                pin_first=True,
            ),
        ),
    ),
}


def story_titles() -> dict[str, str]:
    return {k: s.title for k, s in STORIES.items()}
