"""The relativity fit on synthetic searches whose truth is known."""

import numpy as np

from services.retriever.ranking import MEMORY_FEATURES, RETURNED, probability, scale
from tests.eval.calibrate import ALMOST_NONE, LOW_LEVELS, Group, fit, fit_model


def test_weighted_logistic_regression_recovers_the_weights() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(20_000, 2))
    y = (rng.random(20_000) < 1 / (1 + np.exp(-(0.5 + 2 * x[:, 0] - x[:, 1])))).astype(float)
    assert np.allclose(fit(x, y, np.ones(len(y))), [0.5, 2, -1], atol=0.15)
    doubled = np.vstack([x, x[:5000]]), np.concatenate([y, y[:5000]])
    weights = np.concatenate([np.ones(20_000), np.ones(5000)])
    counted_twice = np.where(np.arange(20_000) < 5000, 2.0, 1.0)
    assert np.allclose(fit(*doubled, weights), fit(x, y, counted_twice), atol=1e-6)


def test_the_level_shown_as_a_tenth_holds_evidence_almost_never() -> None:
    rng = np.random.default_rng(3)
    groups = []
    for n in range(300):
        features = rng.normal(size=(40, len(MEMORY_FEATURES)))
        truth = 1 / (1 + np.exp(-(3 * features[:, 0] - 4)))
        labels = (rng.random(40) < truth).astype(float)
        groups.append(Group(f"f{n % 5}", "en", f"q{n}", features, labels, ["c"] * 40, set(), []))
    model = fit_model(groups)
    assert model.low in LOW_LEVELS
    returned = []
    for g in groups:
        p = probability(model, g.features, g.conversations)
        returned += [(p[k], g.labels[k]) for k in np.argsort(-p)[:RETURNED]]
    p, relevant = np.array(returned).T
    shown = scale(p, model.low)
    assert relevant[shown < 0.1].mean() <= ALMOST_NONE
    assert relevant[shown >= 0.5].mean() >= 0.5
