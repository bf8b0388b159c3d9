"""Root conftest: shared by the project's own tests (`tests/`).

The conformance suites in `suites/` do not depend on this file: their pytest plugin is registered by
entry point (`suites.plugin`), so they run the same way outside this repository.
"""
