"""Stand-in for urllib3, for running sigstore-conformance offline.

The suite imports urllib3 for one call only: its ``identity_token`` fixture
(test/conftest.py) downloads a live OIDC token for the signing tests, and
the ``client`` fixture that every test uses (verification too) depends on
it, reading only the token's ``email``, ``iss`` and ``exp`` claims. The
verification tests never use the token: they pass each case's own identity
and issuer to the client. Offline, that download cannot happen, so this
module answers that one URL with an unsigned token that no Sigstore
service would accept (``alg: none``, an ``.invalid`` issuer), and refuses
every other request, so nothing the suite runs reaches the network through
it. The signing tests, the only users of the token, are skipped
(``--skip-signing``).
"""

import base64
import json
import time

__all__ = ["request"]

# The one URL the suite fetches (test/conftest.py, identity_token).
TOKEN_URL = (
    "https://storage.googleapis.com/sigstore-conformance-testing-token/"
    "untrusted-testing-token.txt"
)


class _Response:
    def __init__(self, data: bytes) -> None:
        self.status = 200
        self.data = data


def _b64(obj: dict) -> str:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _offline_token() -> str:
    header = {"alg": "none", "typ": "JWT"}
    claims = {
        "iss": "https://offline-stand-in.invalid",
        "email": "no-signing-offline@offline-stand-in.invalid",
        "aud": "sigstore",
        "exp": int(time.time()) + 3600,
    }
    return f"{_b64(header)}.{_b64(claims)}."


def request(method: str, url: str, *args, **kwargs) -> _Response:
    """Answers the suite's token download offline; refuses anything else."""
    if method == "GET" and url == TOKEN_URL:
        return _Response(_offline_token().encode())
    raise RuntimeError(
        f"sigil conformance harness: {method} {url} refused: the suite runs "
        "offline (conformance/pystandin/urllib3 answers only the test-token "
        "URL, which the skipped signing tests use)"
    )
