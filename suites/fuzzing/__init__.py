"""Fuzzing the target from openapi.yaml with schemathesis: everything but the command line.

- `settings`: what a fuzz run is asked to do, as the schemathesis configuration both the command
  (`auriko-conformance fuzz`) and the pytest suite (`suites/test_fuzz.py`) use.
- `checks`: the schemathesis hooks and checks (registered when imported) that fit generated requests
  to the target's profile and judge answers with the suites' own check functions.
- `results`: what one run did (requests, failures with a curl line each) and its summary, `fuzz.json`.
- `merge`: a fuzz run's summary folded into the suites' results of the same target and session (D-135),
  in memory, before the one report is written.

The report (`suites/report.py`) imports `merge`; nothing here imports the report. The command line on
top (`auriko_conformance/fuzz.py`) starts the target and schemathesis and writes the files.
"""
