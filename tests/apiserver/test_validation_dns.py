"""A pod's dnsConfig is refused past the resolver's limits, as Kubernetes' validatePodDNSConfig does."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.strategies import validate_object
from tests.apiserver.test_validation import APP_POD, INVALID, REQUIRED, fields, stored

D = "spec.dnsConfig"
CASES: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    ("three-nameservers", {D: {"nameservers": ["1.1.1.1", "8.8.8.8", "9.9.9.9"]}}, []),
    (
        "four-nameservers",
        {D: {"nameservers": ["1.1.1.1", "8.8.8.8", "9.9.9.9", "8.8.4.4"]}},
        [(f"{D}.nameservers", INVALID)],
    ),
    ("nameserver-not-an-ip", {D: {"nameservers": ["dns.example"]}}, [(f"{D}.nameservers[0]", INVALID)]),
    ("32-searches", {D: {"searches": [f"d{i}.example" for i in range(32)]}}, []),
    ("33-searches", {D: {"searches": [f"d{i}.example" for i in range(33)]}}, [(f"{D}.searches", INVALID)]),
    (
        "search-list-over-2048-chars",
        {D: {"searches": [("a" * 63 + ".") * 3 + f"x{i}" for i in range(11)]}},
        [(f"{D}.searches", INVALID)],
    ),
    ("search-not-a-domain", {D: {"searches": ["bad_domain"]}}, [(f"{D}.searches[0]", INVALID)]),
    ("search-trailing-dot", {D: {"searches": ["corp.example."]}}, []),
    ("option-without-name", {D: {"options": [{"value": "2"}]}}, [(f"{D}.options[0]", REQUIRED)]),
    ("none-without-config", {"spec.dnsPolicy": "None"}, [(D, REQUIRED)]),
    (
        "none-without-nameserver",
        {"spec.dnsPolicy": "None", D: {"searches": ["a.example"]}},
        [(f"{D}.nameservers", REQUIRED)],
    ),
    ("none-with-nameserver", {"spec.dnsPolicy": "None", D: {"nameservers": ["10.0.0.2"]}}, []),
]


@pytest.mark.parametrize(("changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_dns_config(changes: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert fields(validate_object("Pod", stored(APP_POD, changes))) == sorted(expected)


def test_the_limit_message_is_kubernetes() -> None:
    changes = {D: {"nameservers": ["1.1.1.1", "8.8.8.8", "9.9.9.9", "8.8.4.4"]}}
    [cause] = validate_object("Pod", stored(APP_POD, changes))
    assert cause["message"].endswith("must not have more than 3 nameservers")
