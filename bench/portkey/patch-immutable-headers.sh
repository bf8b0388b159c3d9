#!/usr/bin/env bash
# Portkey gateway 1.15.2 on Node.js 20 answers every stream with HTTP 500 "Something went wrong": its
# ResponseService.updateHeaders appends x-portkey-* headers to the upstream fetch Response, whose headers
# are immutable under undici (Portkey-AI/gateway issues #1389 and #1550; open fix PR #1390). Without
# the fix no stream reaches the suite, which says nothing about the contract, so the run applies the
# fix's idea to the built bundle: copy the Response before touching its headers. The edit is checked:
# a bundle that does not contain the expected code (another version) stops the run.
set -euo pipefail
bundle="$1"
grep -q 'e=new Response(e.body,e),e.headers.append(' "$bundle" && exit 0  # already applied
before='this.updateHeaders(i,n.cacheStatus,o),{response:i'
after='i=this.updateHeaders(i,n.cacheStatus,o),{response:i'
head_before='updateHeaders(e,t,a){return e.headers.append('
head_after='updateHeaders(e,t,a){return e=new Response(e.body,e),e.headers.append('
for needle in "$before" "$head_before"; do
  [[ $(grep -oF "$needle" "$bundle" | wc -l) -eq 1 ]] || { echo "patch: '$needle' not found once in $bundle" >&2; exit 3; }
done
sed -i "s/${before//./\\.}/${after//./\\.}/; s/${head_before//./\\.}/${head_after//./\\.}/" "$bundle"
grep -q 'e=new Response(e.body,e),e.headers.append(' "$bundle" || { echo "patch: not applied" >&2; exit 3; }
