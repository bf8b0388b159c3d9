-- wrk script: non-stream OpenAI chat completions against the mocks (see mocks_capacity.sh)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o-2024-08-06","messages":[{"role":"system","content":"Be terse."},' ..
           '{"role":"user","content":"Tell me about rivers and the sea [[conformance-id: bench]]"}]}'
