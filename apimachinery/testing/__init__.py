"""In-memory stand-ins for unit tests: one fake API, its informers, a recording event sink.

These are the only fakes of the API: controllers, scheduler and kubelet tests all use them, and
``tests/apimachinery/test_api_contract.py`` runs :class:`FakeApi` and the real
:class:`apimachinery.client.ApiClient` through the same cases.
"""

from apimachinery.testing.fakeapi import SYSTEM_NAMESPACES, Action, FakeApi
from apimachinery.testing.informers import Change, FakeInformer
from apimachinery.testing.recorder import RecordedEvent, RecordingRecorder

__all__ = ["SYSTEM_NAMESPACES", "Action", "Change", "FakeApi", "FakeInformer", "RecordedEvent", "RecordingRecorder"]
