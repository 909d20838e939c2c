"""The demo desk's customers from Hong Kong and Taiwan write in Traditional characters, so the
demo shows tickets answered in Traditional Chinese; their subjects are the others' subjects in
Traditional characters, which the search and the similar cases read as the same words."""

import numpy as np
import pytest

from guanxi.core.languages import chinese_if_written_in_it
from guanxi.core.text import to_simplified
from guanxi.demo import tickets as draw


@pytest.mark.parametrize("subject", draw.SUBJECT_TEXTS)
def test_each_subject_is_also_written_in_traditional_characters(subject):
    traditional = draw.TRADITIONAL_SUBJECTS[subject]
    assert chinese_if_written_in_it(subject) == "zh-hans"
    assert chinese_if_written_in_it(traditional) == "zh-hant"
    # The same words to the search and the similar cases, which read Traditional as Simplified.
    assert to_simplified(traditional) == subject


def _draw(seed: int) -> draw.DrawnTickets:
    count = 4000
    shape = np.random.default_rng(0)
    customers = draw.DeskCustomers(
        ids=np.arange(1, count + 1, dtype=np.int64),
        owner=np.zeros(count, dtype=np.int64),
        is_organisation=shape.random(count) < 0.3,
    )
    return draw.draw_tickets(
        customers, total=4000, seed=seed, as_of=1_796_000_000, agents=[2, 3], categories={}
    )


def test_about_one_customer_in_ten_writes_all_their_tickets_in_traditional_characters():
    tickets = _draw(seed=1)
    assert 0.06 < tickets.traditional.mean() < 0.15
    for customer in np.unique(tickets.customer):
        written = tickets.traditional[tickets.customer == customer]
        assert written.all() or not written.any(), customer
    subjects = [draw.WRITTEN_SUBJECTS[index] for index in tickets.written_subject]
    for subject, traditional, index in zip(
        subjects, tickets.traditional, tickets.subject, strict=True
    ):
        simplified = draw.SUBJECT_TEXTS[index]
        assert subject == (draw.TRADITIONAL_SUBJECTS[simplified] if traditional else simplified)


def test_the_same_seed_gives_the_same_writers():
    first, again, other = _draw(seed=4), _draw(seed=4), _draw(seed=5)
    assert np.array_equal(first.traditional, again.traditional)
    assert not np.array_equal(first.traditional, other.traditional)
