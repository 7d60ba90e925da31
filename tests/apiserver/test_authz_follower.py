"""The authorizer's view of the store: current after every acknowledged write, re-listed when cut off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apimachinery import resources as res
from apiserver.authz.follower import Follower
from apiserver.authz.index import Bindings
from apiserver.registry import Registry
from apiserver.store.sqlite import SqliteStore

PREFIX = "/registry/rolebindings.rbac.authorization.k8s.io/"


def binding(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                    "name": "view"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}]}


def names(view: Bindings) -> set[str]:
    return {obj["metadata"]["name"] for obj in view.values.values()}


def test_listed_then_followed_then_relisted_after_being_cut_off(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    registry = Registry(store)
    registry.create(res.NAMESPACES, None, {"metadata": {"name": "ns"}})
    registry.create(res.ROLEBINDINGS, "ns", binding("before"))
    view = Bindings("RoleBinding")
    follower = Follower(store, [(PREFIX, view)])
    follower.start()
    assert names(view) == {"before"}
    registry.create(res.ROLEBINDINGS, "ns", binding("after"))
    assert follower.catch_up() is True
    assert names(view) == {"before", "after"}
    assert follower.catch_up() is False  # nothing new
    registry.delete(res.ROLEBINDINGS, "ns", "before")
    follower.catch_up()
    assert names(view) == {"after"}
    watch = follower._followed[0].watch
    assert watch is not None
    watch.overflow()  # the store cut the watcher off: what happened meanwhile is only in a list
    registry.create(res.ROLEBINDINGS, "ns", binding("missed"))
    follower.catch_up()
    assert names(view) == {"after", "missed"}
    follower.close()
    store.close()
