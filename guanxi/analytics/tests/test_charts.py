"""The dashboard's chart geometry: thinning the whale curve, binning lifetime values."""

import numpy as np

from guanxi.analytics import charts


def test_downsampling_keeps_the_ends_and_the_peak_within_the_limit():
    assert charts.downsample(5) == [0, 1, 2, 3, 4]
    kept = charts.downsample(10_001, keep=[1234])
    assert len(kept) <= charts.MAX_CURVE_POINTS
    assert kept[0] == 0 and kept[-1] == 10_000 and 1234 in kept
    assert kept == sorted(set(kept))


def test_the_histogram_caps_its_last_bin_and_counts_every_value():
    values = np.concatenate([np.arange(100.0), [10_000.0]])
    histogram = charts.histogram(values, bins=20, cap_quantile=0.95)
    assert histogram.capped
    assert sum(histogram.counts) == 101
    assert histogram.edges[0] == 0.0 and histogram.edges[-1] == 10_000.0
    # The cap is the 95th percentile (95.0): nineteen bins of 5 below it, the rest above.
    assert histogram.edges[19] == 95.0
    assert histogram.counts[-1] == 6  # 95 … 99 and the outlier


def test_the_histogram_of_equal_or_no_values():
    assert charts.histogram(np.array([])).counts == []
    same = charts.histogram(np.array([3.0, 3.0]))
    assert sum(same.counts) == 2 and not same.capped


def test_nice_ticks_cover_the_range():
    ticks = charts.nice_ticks(-330, 170)
    assert ticks[0] <= -330 and ticks[-1] >= 170
    assert charts.nice_ticks(0, 0) == [0.0, 0.25, 0.5, 0.75, 1.0]
