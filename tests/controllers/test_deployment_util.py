"""The Deployment arithmetic: fenceposts, surge steps, proportions, hashes, template equality."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.core import PodTemplateSpec
from controllers import deployment_util as du
from tests.controllers.objects import deployment, replicaset, template


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "expected"),
    [
        pytest.param(10, "25%", "25%", (3, 2), id="percent-surge-rounds-up-unavailable-down"),
        pytest.param(4, "25%", "25%", (1, 1), id="exact-quarters"),
        pytest.param(1, "25%", "25%", (1, 0), id="one-replica"),
        pytest.param(5, 0, 0, (0, 1), id="both-zero-means-one-unavailable"),
        pytest.param(5, 2, 1, (2, 1), id="absolute"),
        pytest.param(3, "0%", "50%", (0, 1), id="half-of-three-rounds-down"),
        pytest.param(10, "100%", 0, (10, 0), id="blue-green"),
    ],
)
def test_fenceposts(replicas: int, surge: Any, unavailable: Any, expected: tuple[int, int]) -> None:
    assert du.fenceposts(deployment(replicas=replicas, surge=surge, unavailable=unavailable)) == expected


def test_max_unavailable_never_exceeds_replicas_and_recreate_has_no_budget() -> None:
    assert du.max_unavailable(deployment(replicas=2, unavailable=5)) == 2
    assert du.max_unavailable(deployment(replicas=0)) == 0
    assert du.max_surge(deployment(strategy="Recreate")) == 0


def rs(name: str, replicas: int) -> Any:
    return replicaset(name=name, replicas=replicas, uid=f"uid-{name}")


@pytest.mark.parametrize(
    ("desired", "surge", "old", "new", "expected"),
    [
        pytest.param(10, 3, 10, 0, 3, id="surge-room"),
        pytest.param(10, 3, 10, 3, 3, id="no-room-left"),
        pytest.param(10, 3, 5, 3, 8, id="room-after-old-shrank"),
        pytest.param(10, 3, 0, 8, 10, id="never-above-desired"),
        pytest.param(3, 0, 3, 0, 0, id="zero-surge-waits-for-old"),
    ],
)
def test_new_replica_set_growth(desired: int, surge: int, old: int, new: int, expected: int) -> None:
    d = deployment(replicas=desired, surge=surge, unavailable=1)
    new_rs = rs("new", new)
    assert du.new_rs_new_replicas(d, [rs("old", old), new_rs], new_rs) == expected


def test_recreate_new_replica_set_goes_straight_to_desired() -> None:
    d = deployment(replicas=4, strategy="Recreate")
    new_rs = rs("new", 0)
    assert du.new_rs_new_replicas(d, [rs("old", 4), new_rs], new_rs) == 4


@pytest.mark.parametrize(
    ("rs_replicas", "max_annotation", "desired", "to_add", "added", "expected"),
    [
        pytest.param(5, 10, 20, 10, 0, 5, id="half-of-the-growth"),
        pytest.param(5, 10, 20, 10, 8, 2, id="capped-by-what-is-left"),
        pytest.param(5, 10, 4, -6, 0, -3, id="shrinks-proportionally"),
        pytest.param(0, 10, 20, 10, 0, 0, id="empty-replica-sets-never-grow"),
        pytest.param(3, 10, 0, -3, 0, -3, id="to-zero-takes-everything"),
    ],
)
def test_proportion(rs_replicas: int, max_annotation: int, desired: int, to_add: int, added: int, expected: int) -> None:
    d = deployment(replicas=desired, surge=0, unavailable=1)
    r = rs("a", rs_replicas)
    r.metadata.annotations = {du.MAX_REPLICAS: str(max_annotation)}
    assert du.proportion(r, d, to_add=to_add, added=added) == expected


def test_template_hash_is_stable_short_and_safe() -> None:
    t = PodTemplateSpec.model_validate(template("img:1"))
    first = du.template_hash(t)
    assert first == du.template_hash(PodTemplateSpec.model_validate(template("img:1")))
    assert first != du.template_hash(PodTemplateSpec.model_validate(template("img:2")))
    assert first != du.template_hash(t, collision_count=1)
    assert 1 <= len(first) <= 10 and set(first) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_template_equality_ignores_the_hash_label_only() -> None:
    plain = PodTemplateSpec.model_validate(template("img:1"))
    hashed = PodTemplateSpec.model_validate(template("img:1", labels={"app": "web", du.HASH_LABEL: "abc"}))
    assert du.equal_ignore_hash(plain, hashed)
    assert not du.equal_ignore_hash(plain, PodTemplateSpec.model_validate(template("img:2")))


def test_new_replica_set_annotations_keep_revision_history() -> None:
    d = deployment()
    d.metadata.annotations = {"kubernetes.io/change-cause": "v2", du.LAST_APPLIED: "{}", du.REVISION: "9"}
    r = rs("a", 3)
    r.metadata.annotations = {du.REVISION: "1"}
    assert du.set_new_rs_annotations(d, r, 3, exists=True)
    assert r.metadata.annotations == {du.REVISION: "3", du.REVISION_HISTORY: "1", "kubernetes.io/change-cause": "v2"}
    assert not du.set_new_rs_annotations(d, r, 3, exists=True)
