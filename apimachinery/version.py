"""The Kubernetes API level podvisor serves, reported by the apiserver (``/version``) and by
kubelets (``nodeInfo.kubeletVersion``) alike.

Build metadata ("+podvisor"), not a pre-release suffix: semver range checks such as Helm's
``kubeVersion: ">=1.25.0"`` reject pre-releases.
"""

KUBERNETES_MAJOR = "1"
KUBERNETES_MINOR = "37"
GIT_VERSION = f"v{KUBERNETES_MAJOR}.{KUBERNETES_MINOR}.0+podvisor"
