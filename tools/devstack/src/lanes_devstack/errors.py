"""The one error the devstack raises: what is missing, and how to fix it."""

from lanes_common.errors import LanesError


class DevstackError(LanesError):
    """Provisioning or starting a local server failed; the message says how to fix it."""
