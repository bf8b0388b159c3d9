"""Root conftest: shared by the project's own tests (`tests/`) and by `pytest suites/` in this repository.

The suites' pytest plugin is loaded only when asked for, never by a global entry point (a user's own
repository may have a `suites/` package): `auriko-conformance run` passes
`-p auriko_conformance.suites.plugin`, and this line asks for it here.
"""

pytest_plugins = ("auriko_conformance.suites.plugin",)
