"""The garbage collector's settings for podvisor's long-running processes.

What a server or a kubelet holds is nearly all acyclic data (decoded JSON, models), freed by
reference counting the moment it is dropped; the cyclic collector only has to find the few
cycles (tasks, connections). CPython's default thresholds (700, 10, 10) made it scan the whole
heap again and again regardless: with 100 hollow nodes creating 2,000 pods, the API server
spent 27% of its time in the collector, with pauses of up to 0.63 s, and the hollow kubelet
19%. With a young generation of 50,000 objects and older generations collected rarely, it
spent 3%, and the longest pause was 83 ms. What start-up made (modules, classes, model schemas)
lives as long as the process, so it is frozen out of every collection.
"""

from __future__ import annotations

import gc

#: objects allocated between young collections, then young and middle collections between
#: the next older ones
THRESHOLDS = (50_000, 50, 100)


def tune() -> None:
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
