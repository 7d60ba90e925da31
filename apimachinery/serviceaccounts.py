"""Names every component agrees on for ServiceAccounts in pods (Kubernetes' own values).

The admission plugin writes them into pods, the kubelet honours them, the controllers publish
what the pods read, and the server names the ``kubernetes`` Service in its certificate.
"""

from __future__ import annotations

DEFAULT_SERVICE_ACCOUNT = "default"
#: Where the projected token, CA and namespace appear in every container.
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_FILE, CA_FILE, NAMESPACE_FILE = "token", "ca.crt", "namespace"
#: The ConfigMap in every namespace holding the cluster CA (key ``ca.crt``).
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
#: Kubernetes' projected-volume token lifetime: 1 h + 7 s, so it can be told from user requests.
PROJECTED_TOKEN_SECONDS = 3607
VOLUME_PREFIX = "kube-api-access-"
DEFAULT_AUDIENCE = "https://kubernetes.default.svc.cluster.local"

#: The Service through which pods reach the API, and the names the serving certificate carries.
KUBERNETES_SERVICE = "kubernetes"
KUBERNETES_SERVICE_NAMESPACE = "default"
KUBERNETES_SERVICE_HOST = "kubernetes.default.svc"
KUBERNETES_SERVICE_NAMES = (
    "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
)
