"""The document service of ``examples/fastapi_app``, as a Flask app on the blocking facade.

Same routes, same policy (``examples/policy.json``), same typed permissions
(``examples/permissions.py``). Against a real Stytch project (``STYTCH_PROJECT_ID``,
``STYTCH_SECRET``)::

    flask --app 'examples.flask_app:create_app()' run
"""

from .app import DocumentStore, create_app

__all__ = ["DocumentStore", "create_app"]
