"""The package version, in one place (``stytch_rbac.__version__``, the CLI, generated headers)."""

__version__ = "0.1.0"
