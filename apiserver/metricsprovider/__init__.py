"""The API server's metrics provider: the metrics-server role, served as ``metrics.k8s.io/v1beta1``.

Kubernetes serves the metrics API by aggregation from metrics-server; podvisor's API server
scrapes the kubelets' Summary API itself (:mod:`.scraper`), keeps the latest two samples of
each node and container (:mod:`.storage`) and answers ``kubectl top`` and the
HorizontalPodAutoscaler from them (:mod:`.routes`).
"""
