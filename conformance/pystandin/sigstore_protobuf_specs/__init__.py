"""Stand-in for sigstore-protobuf-specs, for running sigstore-conformance offline.

The suite's test/test_bundle.py imports ``Bundle`` and ``KindVersion`` from
this package at module level, but uses them only in signing tests, to read
the bundles a client signs. Debian has no package of it (PyPI cannot be
reached), and the signing tests are skipped (``--skip-signing``), so these
names exist only to let the module import: using one raises, so a test
that reached it would fail, never pass.
"""


class StandInError(RuntimeError):
    """Raised by every use of a stand-in name."""


def refuse(name: str):
    raise StandInError(
        f"{name}: sigstore-protobuf-specs is a stand-in here (not packaged in "
        "Debian); only the suite's signing tests use it, and they are skipped"
    )


class StandIn:
    """A name that may be imported but not used."""

    def __init__(self, *args, **kwargs) -> None:
        refuse(type(self).__name__)

    @classmethod
    def from_dict(cls, *args, **kwargs):
        refuse(f"{cls.__name__}.from_dict")
