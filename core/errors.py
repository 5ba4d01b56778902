"""The one exception type whose message is meant for the user."""


class Mpm3dError(Exception):
    """A problem with the user's data or parameters; the message says what and where."""
