"""The root of every error Lanes raises on purpose."""


class LanesError(Exception):
    """Base class for the errors the Lanes packages raise deliberately."""


class ConfigurationError(LanesError):
    """A setting is missing or unusable; the message says which and how to fix it."""


class DependencyUnavailableError(LanesError):
    """Kafka or MongoDB did not answer in time."""
