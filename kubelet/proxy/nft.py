"""Writing the proxy's table to the kernel, and noticing when it drifted.

``Nft`` runs the ``nft`` binary (bounded by a timeout; optionally behind a command prefix such
as ``ip netns exec <ns>``, which the tests use). ``Applier.sync`` is the only writer: it reads
the table, writes the whole desired ruleset in one ``nft -f -`` transaction when anything
differs, and reads the result back. The read-back, normalised (no rule handles, no affinity
set contents, which the data path writes), is what the next check compares against: a rule or
chain deleted by hand, or the whole table, differs from it and is written again.

Blocking by design: callers run it off the event loop (:mod:`kubelet.proxy.reconciler`).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubelet.proxy.rules import AFFINITY_PREFIX, ALIVE, TABLE_PREFIX, Ruleset

log = logging.getLogger(__name__)

NFT_TIMEOUT = 10.0  # seconds for one nft command
STALE_CHAIN_GRACE = 1.0  # seconds between flushing a chain no longer used and deleting it
_DOCKER_BRIDGE = re.compile(r"^br-[0-9a-f]{12}$")


class NftError(Exception):
    """``nft`` failed, timed out or is missing."""


@dataclass(frozen=True)
class Nft:
    prefix: tuple[str, ...] = ()
    binary: str = "nft"
    timeout: float = NFT_TIMEOUT

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def run(self, *args: str, stdin: str | None = None) -> str:
        cmd = [*self.prefix, self.binary, *args]
        try:
            done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=self.timeout,
                                  check=False)
        except subprocess.TimeoutExpired as err:
            raise NftError(f"{' '.join(cmd)} did not finish within {self.timeout}s") from err
        except OSError as err:
            raise NftError(f"cannot run {self.binary}: {err}") from err
        if done.returncode != 0:
            raise NftError(done.stderr.strip() or f"{' '.join(cmd)} exited with {done.returncode}")
        return done.stdout

    def apply(self, script: str) -> None:
        self.run("-f", "-", stdin=script)

    def table(self, name: str) -> TableState | None:
        """The table's content, None when it does not exist."""
        try:
            out = self.run("-j", "list", "table", "ip", name)
        except NftError as err:
            if "No such file or directory" in str(err):
                return None
            raise
        return TableState.parse(json.loads(out))

    def tables(self) -> list[str]:
        """Names of the ``ip`` family's tables."""
        doc = json.loads(self.run("-j", "list", "tables", "ip"))
        return [item["table"]["name"] for item in doc.get("nftables", []) if "table" in item]

    def delete_table(self, name: str) -> None:
        self.apply(f"add table ip {name}\ndelete table ip {name}\n")


@dataclass(frozen=True)
class TableState:
    """What a table holds: its chains, its sets and maps, and a fingerprint of the rest."""

    chains: frozenset[str]
    sets: frozenset[str]
    fingerprint: str

    @classmethod
    def parse(cls, doc: dict[str, Any]) -> TableState:
        chains, sets, items = set(), set(), []
        for item in doc.get("nftables", []):
            kind, body = next(iter(item.items()))
            if kind == "metainfo":
                continue
            body = {k: v for k, v in body.items() if k != "handle"}
            if kind == "chain":
                chains.add(body["name"])
            elif kind in ("set", "map"):
                sets.add(body["name"])
                if body["name"].startswith(AFFINITY_PREFIX) or body["name"] == ALIVE:
                    body.pop("elem", None)  # written by the data path, or counting down
                elif "elem" in body:
                    body["elem"] = sorted(body["elem"], key=json.dumps)
            items.append({kind: body})
        return cls(frozenset(chains), frozenset(sets), json.dumps(items, sort_keys=True))


@dataclass
class Applier:
    """Keeps one table equal to the latest desired ruleset."""

    nft: Nft
    clock: Callable[[], float] = time.monotonic
    _expected: str | None = None  # the fingerprint read back after the last write
    _written: str | None = None  # the digest of the ruleset last written
    _stale_since: dict[str, float] = field(default_factory=dict)

    def sync(self, ruleset: Ruleset) -> bool:
        """Make the kernel's table ``ruleset``; True when something was written."""
        current = self.nft.table(ruleset.table)
        now = self.clock()
        stale = (current.chains - ruleset.chain_names()) if current is not None else frozenset()
        self._stale_since = {c: self._stale_since.get(c, now) for c in stale}
        due = {c for c, since in self._stale_since.items() if now - since >= STALE_CHAIN_GRACE}
        if (current is not None and not due and self._written == ruleset.digest
                and current.fingerprint == self._expected):
            if (heartbeat := ruleset.heartbeat()) is not None:
                self.nft.apply(heartbeat)
            return False
        if current is not None and self._written == ruleset.digest and current.fingerprint != self._expected:
            log.warning("nftables table %s changed behind the service proxy's back; rewriting it", ruleset.table)
        script = ruleset.script(existing_chains=current.chains if current else (),
                                existing_sets=current.sets if current else (), delete_chains=due)
        try:
            self.nft.apply(script)
        except NftError as err:
            if current is None:
                raise
            # something in the table cannot be redefined in place: replace it whole, atomically
            log.warning("cannot update nftables table %s in place (%s); replacing it", ruleset.table, err)
            self.nft.apply(ruleset.script(recreate=True))
        after = self.nft.table(ruleset.table)
        self._expected = after.fingerprint if after is not None else None
        self._written = ruleset.digest
        self._stale_since = {c: t for c, t in self._stale_since.items() if after is not None and c in after.chains}
        return True

    @property
    def pending(self) -> bool:
        """Chains flushed by a sync wait to be deleted by a later one."""
        return bool(self._stale_since)


def orphaned_tables(nft: Nft, *, bridge_exists: Callable[[str], bool] | None = None) -> list[str]:
    """Tables of this proxy whose Docker bridge is gone (its network was removed): dead rules."""
    exists = bridge_exists or (lambda name: Path("/sys/class/net", name).exists())
    orphans = []
    for name in nft.tables():
        parts = name.split(".", 2)
        if len(parts) == 3 and parts[0] == TABLE_PREFIX and _DOCKER_BRIDGE.match(parts[1]) and not exists(parts[1]):
            orphans.append(name)
    return orphans


def remove_tables(nft: Nft, names: Sequence[str]) -> None:
    for name in names:
        try:
            nft.delete_table(name)
            log.info("removed nftables table %s: its pod network is gone", name)
        except NftError as err:
            log.warning("cannot remove nftables table %s: %s", name, err)
