"""Admission plugins: what a write must pass after its object is decoded and defaulted.

Kubernetes' admission chain: mutating plugins (ServiceAccount) may change the object, then
validating plugins (PodSecurity, NodeRestriction) may refuse it or add warnings. Each plugin
sees :class:`~apiserver.admissionplugins.base.Attributes`: the operation, the resource, the
object old and new, and the user. A plugin refuses with an ApiError (403 for policy, 422 for
a field); a refused write changes nothing.
"""
