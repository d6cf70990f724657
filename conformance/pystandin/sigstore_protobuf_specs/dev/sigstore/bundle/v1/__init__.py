"""Stand-in: dev.sigstore.bundle.v1 (see the package doc)."""

from sigstore_protobuf_specs import StandIn


class Bundle(StandIn):
    """Stand-in for the Sigstore bundle message."""
