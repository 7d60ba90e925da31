"""``POST .../serviceaccounts/<name>/token``: a TokenRequest answered with a signed, bound token.

Kubernetes' TokenREST (``pkg/registry/core/serviceaccount/storage/token.go``) and its validation:
``expirationSeconds`` defaults to 3600, must be at least 600 (422 naming the field) and is
shortened, with a warning, to the server's maximum (48 h); ``audiences`` default to the API
server's; ``boundObjectRef`` may name a Pod (which must run as this ServiceAccount), a Secret or a
Node that exists, with the uid given matching (409 otherwise). The token is never stored: it is
valid as long as its signature, lifetime and the objects it names are.

The issuer lives in ``app.state.token_issuer`` (see :func:`apiserver.routes.authentication.install`); without one
the subresource is 404, as on a server without a signing key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response

from apimachinery import resources as res
from apimachinery.errors import ApiError, bad_request, invalid, method_not_allowed, route_not_found
from apimachinery.timeutil import format_rfc3339
from apiserver import negotiation
from apiserver.authn.satoken import Ref, TokenIssuer
from apiserver.negotiation import FastJSONResponse as JSONResponse
from apiserver.registry import Registry
from apiserver.routes.paths import Target
from apiserver.validation import invalid_value, required

Obj = dict[str, Any]
GROUP, API_VERSION, KIND = "authentication.k8s.io", "authentication.k8s.io/v1", "TokenRequest"
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION = 600
MAX_EXPIRATION = 48 * 3600
_BINDABLE = {"Pod": res.PODS, "Secret": res.SECRETS, "Node": res.NODES}


async def token_request(request: Request, target: Target) -> Response:
    if request.method != "POST" or target.name is None or target.namespace is None:
        raise method_not_allowed()
    issuer: TokenIssuer | None = getattr(request.app.state, "token_issuer", None)
    if issuer is None:
        raise route_not_found()
    body = _check_type(negotiation.decode_body(await request.body(), request.headers.get("content-type")))
    audiences_default: tuple[str, ...] = getattr(request.app.state, "api_audiences", ())
    answer, warnings = issue(request.app.state.registry, issuer, namespace=target.namespace, name=target.name,
                             body=body, api_audiences=audiences_default)
    headers = {"Warning": ", ".join(f'299 - "{w}"' for w in warnings)} if warnings else {}
    return JSONResponse(answer, status_code=201, headers=headers)


def _check_type(body: Any) -> Obj:
    if not isinstance(body, dict):
        raise bad_request("the body of the request must be a TokenRequest object")
    if body.get("kind") not in (None, "", KIND) or body.get("apiVersion") not in (None, "", API_VERSION):
        raise bad_request(f"the kind of the provided object ({body.get('apiVersion')}, {body.get('kind')}) "
                          f"does not match {API_VERSION}, {KIND}")
    for part in ("metadata", "spec"):
        if body.get(part) is not None and not isinstance(body[part], dict):
            raise bad_request(f'TokenRequest in version "v1" cannot be handled as a TokenRequest: {part} must be '
                              "an object")
    return body


def issue(registry: Registry, issuer: TokenIssuer, *, namespace: str, name: str, body: Obj,
          api_audiences: tuple[str, ...]) -> tuple[Obj, list[str]]:
    """The answered TokenRequest and its warnings; ApiError for what Kubernetes refuses."""
    spec: Obj = dict(body["spec"]) if isinstance(body.get("spec"), dict) else {}
    expiration = spec.get("expirationSeconds", DEFAULT_EXPIRATION)
    _validate(spec, name=name, expiration=expiration)
    warnings = []
    if expiration > MAX_EXPIRATION:
        warnings.append(f"requested expiration of {expiration} seconds shortened to {MAX_EXPIRATION} seconds")
        expiration = MAX_EXPIRATION
    service_account = registry.get(res.SERVICEACCOUNTS, namespace, name)
    sa_ref = Ref(name, service_account["metadata"]["uid"])
    audiences = list(spec.get("audiences") or api_audiences)
    bound = spec.get("boundObjectRef")
    refs = _bound_refs(registry, namespace=namespace, service_account=name, bound=bound) if bound else {}
    token, claims = issuer.issue(namespace=namespace, service_account=sa_ref, audiences=audiences,
                                 expiration_seconds=expiration, **refs)
    spec.update(audiences=audiences, expirationSeconds=expiration)
    if bound:
        kind = bound["kind"]
        ref = refs["node" if kind == "Node" else kind.lower()]
        spec["boundObjectRef"] = {"kind": kind, "apiVersion": "v1", "name": ref.name, "uid": ref.uid}
    answer = {
        "kind": KIND, "apiVersion": API_VERSION,
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
        "spec": spec,
        "status": {"token": token, "expirationTimestamp": format_rfc3339(_from_unix(claims.expires))},
    }
    return answer, warnings


def _validate(spec: Obj, *, name: str, expiration: Any) -> None:
    causes = []
    if not isinstance(expiration, int) or isinstance(expiration, bool):
        causes.append(invalid_value("spec.expirationSeconds", expiration, "must be an integer"))
    elif expiration < MIN_EXPIRATION:
        causes.append(invalid_value("spec.expirationSeconds", expiration,
                                    "may not specify a duration less than 10 minutes"))
    elif expiration > 2**32:
        causes.append(invalid_value("spec.expirationSeconds", expiration,
                                    "may not specify a duration larger than 2^32 seconds"))
    audiences = spec.get("audiences")
    if audiences is not None and (not isinstance(audiences, list)
                                  or not all(isinstance(a, str) and a for a in audiences)):
        causes.append(invalid_value("spec.audiences", audiences, "must be a list of non-empty strings"))
    bound = spec.get("boundObjectRef")
    if bound is not None:
        if not isinstance(bound, dict):
            causes.append(invalid_value("spec.boundObjectRef", bound, "must be an object"))
        else:
            if not bound.get("kind"):
                causes.append(required("spec.boundObjectRef.kind"))
            if not bound.get("name"):
                causes.append(required("spec.boundObjectRef.name"))
    if causes:
        raise invalid(KIND, name, causes, group=GROUP)


def _bound_refs(registry: Registry, *, namespace: str, service_account: str, bound: Obj) -> dict[str, Ref]:
    kind, api_version = str(bound["kind"]), str(bound.get("apiVersion") or "v1")
    rt = _BINDABLE.get(kind) if api_version == "v1" else None
    if rt is None:
        group, _, version = api_version.rpartition("/")
        raise bad_request(f"cannot bind token to object of type {group}/{version}, Kind={kind}")
    obj = registry.get(rt, namespace if rt.namespaced else None, str(bound["name"]))
    uid = str(obj["metadata"].get("uid") or "")
    if bound.get("uid") and bound["uid"] != uid:
        raise ApiError(
            409, "Conflict",
            f'Operation cannot be fulfilled on {rt.plural} "{bound["name"]}": the UID in the bound object reference '
            f"({bound['uid']}) does not match the UID in record. The object might have been deleted and then recreated",
            name=str(bound["name"]), kind=rt.plural,
        )
    ref = Ref(str(bound["name"]), uid)
    if kind == "Secret":
        return {"secret": ref}
    if kind == "Node":
        return {"node": ref}
    spec = obj.get("spec") or {}
    if (spec.get("serviceAccountName") or "default") != service_account:
        raise bad_request(f'cannot bind token for serviceaccount "{service_account}" to pod running with different '
                          "serviceaccount name.")
    out = {"pod": ref}
    if node_name := spec.get("nodeName"):
        try:
            node = registry.get(res.NODES, None, str(node_name))
            out["node"] = Ref(str(node_name), str(node["metadata"].get("uid") or ""))
        except ApiError:
            pass  # the pod's node is gone: the token is still the pod's
    return out


def _from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
