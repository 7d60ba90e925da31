"""The node agent: runs the pods bound to one node as Docker containers and reports their status.

Layout, from the outside in:

* ``agent``: entry points (``run_kubelet``, ``run_hollow_kubelets``) wiring one node;
* ``node``: Node registration, Lease heartbeat, node status;
* ``podmanager``: the sync loop, one ``worker.PodWorker`` per pod uid, runtime events, relists;
* ``worker`` / ``lifecycle`` / ``sandbox`` / ``supervision``: what a pod worker does (start,
  restart, probe, tear down), with ``restart`` deciding restarts and back-off;
* ``status``: pod status as a pure function of what was observed;
* ``podspec`` / ``naming`` / ``pause``: translating pods into labelled, named containers;
* ``images``, ``probes``, ``server`` (logs API), ``runtime`` (Docker and the in-memory fake).
"""
