"""The audit log: one JSON line per request stage in Kubernetes' ``audit.k8s.io/v1`` ``Event`` shape.

:mod:`.policy` decides what is recorded (the ``Policy`` file), :mod:`.middleware` records it
(pure ASGI, outermost, so it sees requests refused by authentication too), :mod:`.events`
builds each event, :mod:`.logfile` writes them off the event loop with size-based rotation,
and :mod:`.annotations` is where the authorizer, admission and Pod Security leave their notes.
"""
