"""ReplicationControllers (legacy ``v1``): ``pkg/apis/core/validation`` ValidateReplicationController.

The ReplicaSet's rules with an equality selector: a plain label map that defaults to the
template's labels (as does the object's own ``metadata.labels``), must not be empty, and must be
carried by the template. Unlike a ReplicaSet's, the selector may change.
"""

from __future__ import annotations

from apiserver.defaults import sub, unset
from apiserver.strategies import workloads
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import as_dict, at_least, invalid_value, required, validate_labels


def _default(rc: Obj) -> None:
    """v1 SetDefaults_ReplicationController: selector and labels from the template, 1 replica."""
    spec = sub(rc, "spec")
    if spec is None:
        return
    template = spec.get("template")
    labels = as_dict(as_dict(template).get("metadata")).get("labels")
    if isinstance(template, dict) and labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        metadata = sub(rc, "metadata")
        if metadata is not None and not metadata.get("labels"):
            metadata["labels"] = dict(labels)
    unset(spec, "replicas", 1)
    if isinstance(template, dict):  # a missing template stays missing: validation requires it
        workloads.default_template(spec)


def _validate(rc: Obj) -> list[Cause]:
    spec = as_dict(rc.get("spec"))
    causes = at_least(spec, "replicas", "spec", 0) + at_least(spec, "minReadySeconds", "spec", 0)
    selector = as_dict(spec.get("selector"))
    if not selector:
        causes.append(required("spec.selector"))
    causes += validate_labels(selector, "spec.selector")
    template = spec.get("template")
    if template is None:
        return [*causes, required("spec.template")]
    labels = as_dict(as_dict(as_dict(template).get("metadata")).get("labels"))
    if selector and any(labels.get(k) != v for k, v in selector.items()):
        causes.append(
            invalid_value(
                "spec.template.metadata.labels", labels, "`selector` does not match template `labels`"
            )
        )
    return causes + workloads.validate_template("ReplicationController", as_dict(template), "spec.template")


class ReplicationControllerStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        """An empty ReplicationControllerStatus encodes its one non-omitted field."""
        obj["status"] = {"replicas": 0}

    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        _default(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate(obj)


STRATEGY = ReplicationControllerStrategy("ReplicationController")
