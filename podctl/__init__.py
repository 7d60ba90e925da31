"""podctl: the kubectl-style command line for podvisor (and any Kubernetes API server)."""

__version__ = "0.1.0"
