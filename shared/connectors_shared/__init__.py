"""Behaviour every connector in this repository shares.

- `source`: the declarative source base class and console entrypoint.
- `component_factory`: the CDK's component factory, building the cursors below.
- `cursors`: the CDK's datetime cursor without its per-record slice hashing and date parsing.
- `normalizer`: brings records to their declared schema types, fast.
- `rate_limiting`: paces requests by the vendor's rate-limit response headers.
- `budget_per_value`: that pacing kept apart per value of a request parameter (a rate limit per location).
- `partitions`: streams read once per listed value (Leadway's locations): the value in each record, state per value.
- `error_handling`: one retry/backoff policy for 429, 5xx, timeouts and malformed bodies, with actionable messages.
- `decoding`: a JSON decoder that parses each page once and never turns a bad body into an empty page.
- `extraction`: a record extractor that walks a fixed field path without dpath.
- `pagination`: page-number, offset and cursor paging that stop at the advertised total and fail on loops.
- `cdk_hooks`: every use of a name the CDK (or another library) does not make public, and what each one is for;
  imported here so that its start-up hook runs before any connector imports the CDK.
- `transport`: where requests may go (no cross-origin redirects, no metadata hosts) and an overall deadline each.
- `secret_masking`: masks the config's secrets in every line written to stdout and stderr.
- `input_checks`: config, saved state and catalog checked before any request, as config errors naming the field.
- `testing`: a pytest plugin and helpers for the connectors' unit tests.
"""

from connectors_shared import cdk_hooks  # noqa: F401 - defers serpyco_rs's JSON schemas before the CDK builds them
