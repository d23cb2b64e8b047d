"""Behaviour every connector in this repository shares.

- `source`: the declarative source base class and console entrypoint.
- `normalizer`: brings records to their declared schema types, fast.
- `rate_limiting`: paces requests by the vendor's rate-limit response headers.
- `error_handling`: one retry/backoff policy for 429, 5xx, timeouts and malformed bodies, with actionable messages.
- `decoding`: a JSON decoder that parses each page once and never turns a bad body into an empty page.
- `pagination`: page-number and offset paging that stop at the advertised total.
"""
