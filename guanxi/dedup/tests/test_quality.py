"""The quality bar of duplicate detection — precision ≥ 0.98 and recall ≥ 0.95 — on the public
FEBRL benchmark and on the generated Chinese data set, with the engine the scan uses.

The FEBRL files are fetched once by ``make test`` (see ``guanxi/dedup/datasets/febrl.py``);
``guanxi dedup evaluate`` prints the same figures."""

import pytest

from guanxi.dedup.datasets import febrl
from guanxi.dedup.evaluate import evaluate_dataset

PRECISION, RECALL = 0.98, 0.95


@pytest.fixture(scope="module")
def febrl_files():
    if not febrl.is_fetched():
        pytest.fail(
            f"The FEBRL data sets are missing ({febrl.default_directory()}). `make test` "
            "fetches them once; or run `guanxi dedup fetch-febrl`."
        )


@pytest.mark.parametrize("name", ["febrl1", "febrl2", "febrl3", "febrl4"])
def test_febrl(febrl_files, name):
    result = evaluate_dataset(name)
    assert result.quality.precision >= PRECISION, result
    assert result.quality.recall >= RECALL, result


@pytest.mark.parametrize("seed", [7, 8])
def test_generated_chinese_customers(seed):
    result = evaluate_dataset("chinese", entities=4000, seed=seed)
    assert result.quality.true > 1500  # a data set with real work in it
    assert result.quality.precision >= PRECISION, result
    assert result.quality.recall >= RECALL, result
