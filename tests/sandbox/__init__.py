"""Local emulators of the vendor APIs, for the demo, the integration tests and the benchmark. No network needed."""

from tests.sandbox.server import Request, Response, Sandbox, Vendor, vendors

__all__ = ["Request", "Response", "Sandbox", "Vendor", "vendors"]
