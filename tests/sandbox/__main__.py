"""``python -m tests.sandbox [--port 8765] [--prefix /proxy] [--records 1000] [--rate-limit N] [--latency-ms 100]
[--documented-limits]``: serve until killed.

Prints one line, ``SANDBOX_URL=http://127.0.0.1:PORT[/prefix]``, once it listens.
"""

import argparse
import sys

from tests.sandbox.server import DOCUMENTED_RATE_LIMITS, Sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--records", type=int, default=1000, help="records per stream and vendor")
    parser.add_argument("--rate-limit", type=int, default=100_000, help="requests per window before 429")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="wait this long before every vendor answer")
    parser.add_argument("--documented-limits", action="store_true",
                        help="rate-limit the vendors that publish a limit at that limit (overrides --rate-limit)")
    parser.add_argument("--record-requests", action="store_true", help="serve the request log at /__log (benchmark)")
    args = parser.parse_args()
    sandbox = Sandbox(port=args.port, prefix=args.prefix, records=args.records, rate_limit=args.rate_limit,
                      record_requests=args.record_requests, latency=args.latency_ms / 1000,
                      rate_limits={name: limit for name, (limit, _) in DOCUMENTED_RATE_LIMITS.items()}
                      if args.documented_limits else None)
    print(f"SANDBOX_URL={sandbox.url}", flush=True)
    try:
        sandbox.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
