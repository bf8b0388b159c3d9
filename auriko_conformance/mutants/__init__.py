"""Mutation testing of the conformance suites: deliberately broken gateways and the faults' kill table.

`proxy` is the mutant proxy (an ASGI app in front of a gateway or in front of the mock providers),
`faults` the transforms a fault applies, `catalogue.yaml` the faults as data, `harness` runs the suites
against each mutant and judges the outcome, `cli` is `auriko-conformance mutants`.
"""
