"""``python -m stytch_rbac``: the ``stytch-rbac`` command."""

from .cli import main

if __name__ == "__main__":
    main()
