"""Sizing the actor pool, and ``--engine ray`` without Ray installed (no Ray needed for these)."""

import sys

import pytest

from recsys.cli import main
from recsys.engines.cluster import ActorPlan, plan_actors


class FakeRay:
    def __init__(self, **resources):
        self.resources = resources

    def cluster_resources(self):
        return self.resources


def test_actor_pool_follows_the_cluster():
    assert plan_actors(FakeRay(CPU=8.0)) == ActorPlan(8, 1, 0)
    assert plan_actors(FakeRay(CPU=2.0), 4) == ActorPlan(4, 0.5, 0)
    assert plan_actors(FakeRay(CPU=16.0, GPU=2.0), gpu=True) == ActorPlan(2, 8, 1)
    with pytest.raises(ValueError, match="cluster has none"):
        plan_actors(FakeRay(CPU=4.0), gpu=True)


@pytest.mark.parametrize("command", [["recommend", "--model", "m"], ["embed", "--images-root", "."]])
def test_ray_engine_without_ray_says_how_to_install_it(command, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    assert main([*command, "--engine", "ray", "--out", str(tmp_path / "out.jsonl")]) == 2
    assert "pip install 'visrec[ray]'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
