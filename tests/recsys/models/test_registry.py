"""The model registry: names come from the classes; third-party models join by class or import path."""

import numpy as np
import pytest

from recsys.models import Recommender, make_model, model_class, model_names, register
from recsys.models.popularity import PopularityRecommender


class ReversePopularity(PopularityRecommender):
    """A third-party model: least popular first."""

    name = "reverse-popularity"

    def _fit(self, user_items, features):
        super()._fit(user_items, features)
        self.item_scores_ = (1.0 - self.item_scores_).astype(np.float32)


def test_every_builtin_name_is_its_class_name():
    for name in model_names():
        assert model_class(name).name == name
    assert model_names()[:3] == ["popularity", "recent-popularity", "repurchase"] and "hybrid" in model_names()


def test_import_path_resolves_and_bad_paths_are_named():
    assert model_class("recsys.models.ease:EASERecommender").name == "ease"
    with pytest.raises(ValueError, match="cannot import model class 'recsys.models.ease:Nope'"):
        model_class("recsys.models.ease:Nope")
    with pytest.raises(ValueError, match="not a visrec model class"):
        register("numpy:ndarray")


def test_third_party_model_registers_fits_saves_and_loads(demo, tmp_path):
    register(ReversePopularity)
    assert "reverse-popularity" in model_names()
    m = make_model("reverse-popularity").fit(demo.dataset)
    pop = make_model("popularity").fit(demo.dataset)
    u = demo.dataset.users.ids[:1]
    assert m.recommend(u, k=1)[0][0, 0] != pop.recommend(u, k=1)[0][0, 0]
    m.save(tmp_path / "m")
    m2 = Recommender.load(tmp_path / "m")
    assert type(m2) is ReversePopularity and m2.recommend(u, k=5)[0].tolist() == m.recommend(u, k=5)[0].tolist()
    with pytest.raises(ValueError, match="taken by"):
        register(type("Other", (PopularityRecommender,), {"name": "reverse-popularity"}))


def test_hybrid_validation_ndcg_equals_the_evaluation_metric():
    """The hybrid learns its blend with recsys.models.validation.mean_ndcg; it must be the
    evaluation package's ndcg@k, or the blend would optimise something else."""
    import scipy.sparse as sp
    from evaluation.metrics import ranking_metrics
    from recsys.models.validation import mean_ndcg
    rng = np.random.default_rng(0)
    truth = sp.random(50, 30, density=0.15, format="csr", random_state=1)
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    lists = np.stack([rng.permutation(30)[:10] for _ in users])
    lists[::4, 7:] = -1  # short lists
    ref = ranking_metrics(lists, truth, users, (10,))["ndcg@10"].mean()
    assert mean_ndcg(lists, truth, users, 10) == ref
