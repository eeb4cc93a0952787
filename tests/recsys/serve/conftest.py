"""A saved demo model (hybrid: photos + interactions) and an EASE model to serve, and API keys."""

import pytest

from .serving import KEYS_TOML


@pytest.fixture(scope="session")
def served_models(demo, tmp_path_factory):
    """Folders of a fitted hybrid (the demo's shop) and of an EASE model, and the keys file."""
    from recsys.models import make_model
    base = tmp_path_factory.mktemp("served")
    hybrid = make_model("hybrid", progress=False,
                        component_params={"als-visual": {"iterations": 8, "progress": False}})
    hybrid.fit(demo.dataset, demo.features).save(base / "hybrid")
    make_model("ease", lambda_=50.0).fit(demo.dataset).save(base / "ease")
    (base / "keys.toml").write_text(KEYS_TOML)

    class Served:
        pass

    s = Served()
    s.base, s.hybrid, s.ease, s.keys = base, base / "hybrid", base / "ease", base / "keys.toml"
    s.catalog, s.images_root = demo.dir / "catalog.csv", demo.dir
    return s
