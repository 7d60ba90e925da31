"""Pod Security Standards: the privileged, baseline and restricted levels of Kubernetes.

Pure functions over wire dicts, mirroring ``k8s.io/pod-security-admission``: ``policy`` turns a
namespace's ``pod-security.kubernetes.io/*`` labels into the levels to enforce, audit and warn
about; ``baseline`` and ``restricted`` hold one function per check; ``evaluate`` runs the
checks of a level in Kubernetes' order and phrases the verdict. The admission plugin that
applies them to requests is :mod:`apiserver.admissionplugins.podsecurity`.
"""
