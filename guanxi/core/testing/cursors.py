"""Page cursors made by hand, for tests that send doctored ones."""

import base64
import json


def encode_cursor(values) -> str:
    """A cursor holding ``values``, encoded as ``core.keyset`` encodes its own (but with
    ``json``'s ASCII escapes, so that even a lone surrogate can be sent)."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
