"""A DaemonSet's history as ControllerRevisions (``pkg/controller/daemon/update.go``).

Each pod template the DaemonSet has run is one ControllerRevision named ``<ds>-<hash>``, owned by
it and labelled like its pods (template labels plus ``controller-revision-hash``). Its ``data``
is the strategic merge patch that puts that template back (``spec.template`` with ``$patch:
replace``), which is what ``kubectl rollout undo ds/x`` applies; its ``revision`` is a number,
the current template's the highest: going back to an old template renumbers its revision.
Revisions beyond ``revisionHistoryLimit`` that no live pod runs are deleted, oldest first.
"""

from __future__ import annotations

from typing import Any

from apimachinery.errors import ApiError
from apimachinery.models.apps import ControllerRevision, DaemonSet
from apimachinery.models.core import Pod
from apimachinery.models.meta import ObjectMeta
from controllers.base import CONTROLLER_UID_INDEX, Cache, Client, controller_ref_to
from controllers.daemonset_util import REVISION_HASH_LABEL

DEFAULT_HISTORY_LIMIT = 10


def revision_data(ds: DaemonSet) -> dict[str, Any]:
    """``getPatch``: the DaemonSet's template as a patch that replaces the whole template."""
    return {"spec": {"template": {**ds.spec.template.to_dict(), "$patch": "replace"}}}


def new_revision(ds: DaemonSet, hash_: str, number: int) -> ControllerRevision:
    labels = {**((ds.spec.template.metadata.labels if ds.spec.template.metadata else None) or {}),
              REVISION_HASH_LABEL: hash_}
    meta = ObjectMeta(name=f"{ds.metadata.name}-{hash_}", namespace=ds.metadata.namespace, labels=labels,
                      owner_references=[controller_ref_to(ds)])
    return ControllerRevision(metadata=meta, data=revision_data(ds), revision=number)


def to_delete(revisions: list[ControllerRevision], *, current: str, live_hashes: set[str],
              limit: int) -> list[ControllerRevision]:
    """``cleanupHistory``: the oldest old revisions no live pod runs, beyond ``limit``."""
    old = sorted((r for r in revisions if r.metadata.name != current
                  and (r.metadata.labels or {}).get(REVISION_HASH_LABEL) not in live_hashes),
                 key=lambda r: r.revision)
    return old[:max(len(old) - limit, 0)]


class History:
    """The DaemonSet controller's reads and writes of ControllerRevisions."""

    def __init__(self, client: Client, revisions: Cache[ControllerRevision]) -> None:
        self.client = client
        self.revisions = revisions

    def owned(self, ds: DaemonSet) -> list[ControllerRevision]:
        return [r for r in self.revisions.by_index(CONTROLLER_UID_INDEX, ds.metadata.uid or "")
                if r.metadata.namespace == ds.metadata.namespace]

    async def record(self, ds: DaemonSet, hash_: str) -> None:
        """``constructHistory``: the current template's revision exists and is the newest."""
        revisions = self.owned(ds)
        highest = max((r.revision for r in revisions), default=0)
        name = f"{ds.metadata.name}-{hash_}"
        current = next((r for r in revisions if r.metadata.name == name), None)
        if current is None:
            try:
                await self.client.create(new_revision(ds, hash_, highest + 1), ds.metadata.namespace)
            except ApiError as err:
                if err.code != 409:
                    raise  # AlreadyExists: our cache lags our own create
            return
        if current.revision < highest:
            fresh = current.model_copy(deep=True)
            fresh.revision = highest + 1
            await self.client.replace(fresh)

    async def clean(self, ds: DaemonSet, hash_: str, pods: list[Pod]) -> None:
        live = {(p.metadata.labels or {}).get(REVISION_HASH_LABEL, "") for p in pods
                if p.metadata.deletion_timestamp is None}
        limit = ds.spec.revision_history_limit
        victims = to_delete(self.owned(ds), current=f"{ds.metadata.name}-{hash_}", live_hashes=live,
                            limit=DEFAULT_HISTORY_LIMIT if limit is None else limit)
        for revision in victims:
            try:
                await self.client.delete(ControllerRevision, revision.metadata.name or "", revision.metadata.namespace)
            except ApiError as err:
                if err.code != 404:
                    raise
