"""``--service-cidr`` and ``--service-node-port-range``: bad values stop the server before it starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from podvisor.cli import app


@pytest.mark.parametrize(
    ("flags", "named"),
    [(["--service-cidr", "10.96.0.1/12"], "--service-cidr"),
     (["--service-cluster-ip-range", "fd00::/108"], "--service-cidr"),
     (["--service-node-port-range", "32767-30000"], "--service-node-port-range")],
    ids=["host-bits-set", "ipv6", "reversed-ports"],
)
@pytest.mark.parametrize("command", ["server", "apiserver"])
def test_bad_ranges_are_refused_before_the_server_starts(
    tmp_path: Path, command: str, flags: list[str], named: str
) -> None:
    result = CliRunner().invoke(app, [command, "--data-dir", str(tmp_path / "data"), *flags])
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert not (tmp_path / "data").exists()
