"""Salon's build pipeline: one module per stage, each a function of explicit inputs."""

__version__ = "0.1.0"


class UserError(Exception):
    """A problem the user must fix (bad flag, missing column, no images); ends the build."""
