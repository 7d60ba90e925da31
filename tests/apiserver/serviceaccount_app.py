"""An apiserver with the server's authentication and ServiceAccount admission, for TestClient tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from apiserver.admissionplugins import serviceaccount as serviceaccount_admission
from apiserver.app import AppSettings, create_app
from apiserver.authn import setup as authn_setup
from apiserver.authn.setup import Authentication
from apiserver.authn.user import AUTHENTICATED, SYSTEM_MASTERS, UserInfo
from apiserver.store.sqlite import SqliteStore

ADMIN_TOKEN = "admin-token-for-tests"
ADMIN = UserInfo("admin", groups=(SYSTEM_MASTERS, AUTHENTICATED))


@dataclass
class App:
    client: TestClient
    authn: Authentication
    store: SqliteStore

    def as_admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def post(self, path: str, body: Any, token: str = ADMIN_TOKEN) -> Any:
        return self.client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})

    def get(self, path: str, token: str = ADMIN_TOKEN) -> Any:
        return self.client.get(path, headers={"Authorization": f"Bearer {token}"})

    def delete(self, path: str, token: str = ADMIN_TOKEN) -> Any:
        return self.client.delete(path, headers={"Authorization": f"Bearer {token}"})

    def token(self, sa: str = "default", namespace: str = "default", **spec: Any) -> str:
        response = self.post(f"/api/v1/namespaces/{namespace}/serviceaccounts/{sa}/token", {"spec": spec})
        assert response.status_code == 201, response.text
        return str(response.json()["status"]["token"])


@contextmanager
def serviceaccount_app(tmp_path: Path) -> Iterator[App]:
    store = SqliteStore(tmp_path / "state.db")
    authn = authn_setup.build(store, tmp_path, {ADMIN_TOKEN: ADMIN})
    settings = AppSettings(authenticator=authn.authenticator, compaction_interval=3600,
                           admission=[serviceaccount_admission.for_store(store)])
    app = create_app(store, settings)
    authn.install(app)
    try:
        with TestClient(app) as client:
            yield App(client, authn, store)
    finally:
        store.close()
