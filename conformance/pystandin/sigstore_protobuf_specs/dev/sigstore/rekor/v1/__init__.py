"""Stand-in: dev.sigstore.rekor.v1 (see the package doc)."""

from sigstore_protobuf_specs import StandIn


class KindVersion(StandIn):
    """Stand-in for the Rekor entry kind and version message."""
