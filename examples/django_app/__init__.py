"""The document service of ``examples/fastapi_app``, as a Django project with a DRF API.

Same routes, same policy (``examples/policy.json``), same typed permissions
(``examples/permissions.py``): the documents are plain Django views guarded with
``@rbac.require(...)``, the member routes a Django REST framework API with
``rbac.drf(...)`` permission classes. Against a real Stytch project
(``STYTCH_PROJECT_ID``, ``STYTCH_SECRET``)::

    DJANGO_SETTINGS_MODULE=examples.django_app.settings django-admin runserver
"""
