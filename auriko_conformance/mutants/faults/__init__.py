"""The transforms a fault applies, by name: what `catalogue.yaml` entries point at.

One module per kind of defect, on the shared mechanism of `base` (the registry, the identity fault, the
one answer/stream rewriter): `streams`, `tools`, `choices`, `metadata` (usage, cost, routing_metadata),
`errors` (error bodies and headers), `auth`, `models`, `validation` (client requests let through or
ignored), `upstream` (native requests to the providers), `fallback` (routing decisions); `paths` names
fields. Importing this package registers every transform in `TRANSFORMS`.
"""

from auriko_conformance.mutants.faults import (  # noqa: F401  (importing registers the transforms)
    auth,
    choices,
    errors,
    fallback,
    metadata,
    models,
    streams,
    tools,
    upstream,
    validation,
)
from auriko_conformance.mutants.faults.base import (
    TRANSFORMS,
    Answer,
    CompletionEdit,
    Fault,
    build,
    kind_of,
    transform,
)
from auriko_conformance.mutants.faults.paths import lookup
from auriko_conformance.mutants.faults.upstream import flavour_of

__all__ = [
    "TRANSFORMS",
    "Answer",
    "CompletionEdit",
    "Fault",
    "build",
    "flavour_of",
    "kind_of",
    "lookup",
    "transform",
]
