"""Authorization: may this user do this (kube-apiserver's ``--authorization-mode=Node,RBAC``).

- :mod:`.rules`: a policy rule and whether it allows a request (Kubernetes' ``rbac/validation``).
- :mod:`.index`: roles and bindings (and the pods the Node authorizer follows) kept in memory,
  current with the store, so a decision reads dictionaries, not the database.
- :mod:`.rbac`, :mod:`.node`: the two authorizers; :mod:`.authorizer` their union, with
  ``system:masters`` always allowed.
- :mod:`.middleware`: every HTTP and WebSocket request passes :func:`authorize` once.
- :mod:`.escalation`: the ``escalate``/``bind`` checks on RBAC writes.
- :mod:`.bootstrap`: the default roles and bindings, reconciled at start.
- :mod:`.reviews`: SubjectAccessReview and friends, what ``kubectl auth can-i`` asks.
"""
