"""The server's join token: created at first start, kept across restarts, never re-created once deleted."""

from __future__ import annotations

from pathlib import Path

from apimachinery import bootstraptoken as bt
from apimachinery import resources as res
from apimachinery.kubeconfig import load_kubeconfig, write_kubeconfig
from apiserver.app import create_app
from apiserver.store.sqlite import SqliteStore
from podvisor.server import ServerOptions, install_node_join, prepare_data_dir


def start(data: Path) -> tuple[str, list[str]]:
    """One server start on ``data``: the node.kubeconfig token and the bootstrap Secrets stored."""
    store = SqliteStore(data / "state.db")
    try:
        app = create_app(store)
        install_node_join(app, prepare_data_dir(ServerOptions(data_dir=data)), data)
        items = app.state.registry.list(res.SECRETS, bt.NAMESPACE).items
        return load_kubeconfig(data / "node.kubeconfig").token, sorted(
            s["metadata"]["name"] for s in items if s.get("type") == bt.SECRET_TYPE)
    finally:
        store.close()


def test_first_start_creates_a_bootstrap_token_that_restarts_keep(tmp_path: Path) -> None:
    token, stored = start(tmp_path)
    parsed = bt.parse(token)
    assert parsed is not None and stored == [parsed.secret_name]
    assert start(tmp_path) == (token, stored)


def test_a_pre_bootstrap_shared_token_is_replaced(tmp_path: Path) -> None:
    start(tmp_path)
    node_kc = tmp_path / "node.kubeconfig"
    write_kubeconfig(node_kc, server="https://127.0.0.1:6443", token="old-shared-node-token", ca_pem=None, user="node")
    token, _ = start(tmp_path)
    assert bt.parse(token) is not None


def test_a_deleted_join_token_stays_deleted(tmp_path: Path) -> None:
    token, stored = start(tmp_path)
    store = SqliteStore(tmp_path / "state.db")
    create_app(store).state.registry.delete(res.SECRETS, bt.NAMESPACE, stored[0])
    store.close()
    assert start(tmp_path) == (token, [])
