"""The ``podvisor`` command: one binary that runs any component of a cluster (the k3s model)."""

__version__ = "0.1.0"
