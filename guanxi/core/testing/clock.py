"""A settable "now" for tests of time-driven behaviour (service-level deadlines, sweeps).

It replaces ``django.utils.timezone.now`` for the whole process, so the code under test, the
sweep and a live server's threads all read the same moment; the test moves it on explicitly.
"""

import datetime as dt


class Clock:
    def __init__(self, start: dt.datetime):
        self.current = start

    def __call__(self) -> dt.datetime:
        return self.current

    def advance(self, **delta) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current


def frozen_clock(monkeypatch, start: dt.datetime) -> Clock:
    from django.utils import timezone

    clock = Clock(start)
    monkeypatch.setattr(timezone, "now", clock)
    return clock
