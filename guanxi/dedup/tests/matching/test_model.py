"""The Fellegi–Sunter model: EM recovers the parameters of data simulated under the model,
probabilities follow the evidence, rare names count for more."""

import numpy as np

from guanxi.dedup.matching.compare import FIELD_INDEX, FIELDS, MISSING, NAME
from guanxi.dedup.matching.model import MatchModel, default_model, fit, implausibility


def simulate(truth: MatchModel, pairs: int, seed: int) -> np.ndarray:
    """Pairs drawn from the model: match or not with probability λ, then every field's level
    independently from m or u (a field missing one time in ten)."""
    rng = np.random.default_rng(seed)
    is_match = rng.random(pairs) < truth.prior
    levels = np.empty((pairs, len(FIELDS)), dtype=np.int8)
    for i, f in enumerate(FIELDS):
        m, u = np.array(truth.m[f.name]), np.array(truth.u[f.name])
        levels[:, i] = np.where(
            is_match,
            rng.choice(f.size, pairs, p=m / m.sum()),
            rng.choice(f.size, pairs, p=u / u.sum()),
        )
        levels[rng.random(pairs) < 0.1, i] = MISSING
    return levels


def test_em_recovers_known_parameters_from_simulated_pairs():
    truth = default_model()
    truth.prior = 0.3
    fitted = fit(simulate(truth, 200_000, seed=11))
    assert fitted.converged and fitted.pairs == 200_000
    assert abs(fitted.prior - 0.3) < 0.01
    for f in FIELDS:
        assert np.allclose(fitted.m[f.name], truth.m[f.name], atol=0.02), f.name
        assert np.allclose(fitted.u[f.name], truth.u[f.name], atol=0.02), f.name


def test_more_agreement_means_a_higher_probability():
    model = default_model()
    nothing = np.full((1, len(FIELDS)), MISSING, dtype=np.int8)
    name_only = nothing.copy()
    name_only[0, 0] = NAME["exact"]
    name_and_phone = name_only.copy()
    name_and_phone[0, FIELD_INDEX["phone"]] = 1
    name_other_phone = name_only.copy()
    name_other_phone[0, FIELD_INDEX["phone"]] = 0
    p = [model.probabilities(x)[0] for x in (name_other_phone, name_only, name_and_phone)]
    assert p[0] < p[1] < p[2]
    assert model.probabilities(nothing)[0] == model.prior


def test_a_rare_name_says_more_than_a_common_one():
    model = default_model()
    model.name_collision = 0.002
    levels = np.full((2, len(FIELDS)), MISSING, dtype=np.int8)
    levels[:, 0] = NAME["exact"]
    common, rare = model.probabilities(levels, np.array([0.02, 0.00001]))
    assert rare > model.probabilities(levels[:1])[0] > common


def test_a_model_survives_json_and_a_stored_model_missing_a_field_falls_back():
    model = fit(simulate(default_model(), 5000, seed=2))
    again = MatchModel.from_dict(model.to_dict())
    levels = simulate(default_model(), 100, seed=3)
    assert np.allclose(again.probabilities(levels), model.probabilities(levels))
    data = model.to_dict()
    del data["m"]["email"]
    assert MatchModel.from_dict(data).m["email"] == default_model().m["email"]


def test_no_pairs_gives_the_defaults():
    model = fit(np.empty((0, len(FIELDS)), dtype=np.int8))
    assert model.source.startswith("default") and model.m == default_model().m


def test_people_born_on_the_same_day_are_not_duplicates():
    """Pairs of different people, some born on the same day, and no duplicates at all."""
    rng = np.random.default_rng(4)
    pairs = 50_000
    levels = np.full((pairs, len(FIELDS)), MISSING, dtype=np.int8)
    levels[:, FIELD_INDEX["name"]] = NAME["different"]
    levels[:, FIELD_INDEX["phone"]] = 0  # different mobiles
    same_day = rng.random(pairs) < 0.4
    levels[:, FIELD_INDEX["birth_date"]] = np.where(same_day, 2, 0)
    model = fit(levels)
    assert model.probabilities(levels[same_day][:1])[0] < 0.5


def test_a_fit_describing_something_else_than_duplicates_is_refused():
    model = default_model()
    model.m["name"] = [0.8, 0.02, 0.02, 0.02, 0.04, 0.10]  # "duplicates" with other names
    assert "name would differ" in implausibility(model)
    model = default_model()
    model.m["phone"], model.u["phone"] = [0.9, 0.1], [0.1, 0.9]  # a shared mobile counts against
    assert "phone" in implausibility(model)
    assert implausibility(default_model()) is None


def test_a_plausible_fit_is_kept():
    model = fit(simulate(default_model(), 20_000, seed=9))
    assert model.source == "fitted"
