"""The controller manager's controllers, each a class with one idempotent ``sync(key)``.

``replicaset``, ``deployment`` (+ ``deployment_rollout``/``_status``/``_util``), ``garbagecollector``,
``nodelifecycle`` and ``tainteviction``, built from a :class:`controllers.base.ControllerContext` and
run by :mod:`controllers.manager` under :mod:`apimachinery.leaderelection`. Unit tests run them on the
one in-memory API fake, :mod:`apimachinery.testing`.
"""
