"""The local multi-node demo: a server and three kubelets on one Docker daemon (``make demo``)."""
