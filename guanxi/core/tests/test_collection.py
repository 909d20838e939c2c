import gc

import pytest

from guanxi.core.collection import fewer_collections


def test_the_threshold_holds_inside_and_is_put_back_after_an_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections(threshold=12_345):
        assert gc.get_threshold() == (12_345, before[1], before[2])
        raise RuntimeError("the import failed")
    assert gc.get_threshold() == before


def test_what_it_froze_is_unfrozen_afterwards():
    assert gc.get_freeze_count() == 0
    with fewer_collections():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_what_was_frozen_before_stays_frozen():
    gc.freeze()  # as the WSGI module does at start-up
    frozen = gc.get_freeze_count()
    try:
        with fewer_collections():
            pass
        assert gc.get_freeze_count() >= frozen > 0
    finally:
        gc.unfreeze()
