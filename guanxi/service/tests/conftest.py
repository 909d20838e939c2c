import datetime as dt

import pytest

from guanxi.core.testing.clock import frozen_clock
from guanxi.service.tests.desk import build_desk


@pytest.fixture
def clock(monkeypatch):
    # A Wednesday, 10:00 in Beijing.
    return frozen_clock(monkeypatch, dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC))


@pytest.fixture
def desk(company):
    return build_desk(company)
