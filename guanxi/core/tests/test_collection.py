import gc

import pytest

from guanxi.core.collection import fewer_collections


def test_the_settings_hold_inside_and_are_put_back_after_an_error():
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with pytest.raises(RuntimeError), fewer_collections(threshold=12_345):
        assert gc.get_threshold() == (12_345, before[1], before[2])
        assert gc.get_freeze_count() > frozen_before
        raise RuntimeError("the import failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
