"""Part of the sigstore-protobuf-specs stand-in (see the package doc)."""
