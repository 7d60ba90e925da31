"""What the user typed on the command line -> resource types and names.

kubectl accepts ``TYPE``, ``TYPE NAME...``, ``TYPE1,TYPE2``, ``TYPE/NAME...`` and the category
``all``; type names may be plural, singular, short or the kind. This is a pure function so the
rules are tested without a server.
"""

from __future__ import annotations

from dataclasses import dataclass

from apimachinery import resources as res
from apimachinery.resources import ResourceType
from podctl.errors import PodctlError

# kubectl's "all" category, in its print order (only the kinds served here).
ALL_CATEGORY = (res.PODS, res.SERVICES, res.DEPLOYMENTS, res.REPLICASETS, res.JOBS)


@dataclass(frozen=True)
class Selection:
    """One resource type and the names asked for (empty: every object of the type)."""

    rt: ResourceType
    names: tuple[str, ...] = ()


def resource_type(name: str) -> ResourceType:
    """One type name; unknown ones fail with kubectl's message."""
    rt = res.lookup(name)
    if rt is None:
        raise PodctlError(f'the server doesn\'t have a resource type "{name}"')
    return rt


def kind_ref(rt: ResourceType) -> str:
    """``deployment.apps`` / ``pod``: the prefix of kubectl's ``TYPE/NAME`` output."""
    return f"{rt.kind.lower()}.{rt.group}" if rt.group else rt.kind.lower()


def object_ref(rt: ResourceType, name: str) -> str:
    return f"{kind_ref(rt)}/{name}"


def parse_args(args: list[str] | tuple[str, ...]) -> list[Selection]:
    """The selections of ``get``/``describe``/``delete`` arguments, in the order given."""
    if not args:
        raise PodctlError("you must specify the type of resource to get. Use \"podctl api-resources\" "
                          "for a complete list of supported resources")
    if "/" in args[0]:
        return _slash_form(args)
    types: list[ResourceType] = []
    for part in args[0].split(","):
        if not part:
            continue
        expanded = list(ALL_CATEGORY) if part.lower() == "all" else [resource_type(part)]
        types.extend(rt for rt in expanded if rt not in types)
    names = tuple(args[1:])
    if any("/" in name for name in names):
        raise PodctlError("there is no need to specify a resource type as a separate argument when passing "
                          "arguments in resource/name form (e.g. 'podctl get resource/<resource_name>' instead "
                          "of 'podctl get resource resource/<resource_name>')")
    if names and len(types) > 1:
        raise PodctlError("you may only specify a single resource type when naming objects "
                          f"(use TYPE/NAME, e.g. {kind_ref(types[0])}/{names[0]})")
    return [Selection(rt, names) for rt in types]


def _slash_form(args: list[str] | tuple[str, ...]) -> list[Selection]:
    grouped: dict[ResourceType, list[str]] = {}
    for arg in args:
        kind, sep, name = arg.partition("/")
        if not sep or not kind or not name:
            raise PodctlError(f'arguments in resource/name form must have a single resource and name: "{arg}"')
        grouped.setdefault(resource_type(kind), []).append(name)
    return [Selection(rt, tuple(names)) for rt, names in grouped.items()]
