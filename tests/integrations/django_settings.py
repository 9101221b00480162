"""The minimal Django settings the Django and DRF tests run under (no database, no templates).

Each test names its own URLs and facade with ``override_settings`` (``ROOT_URLCONF``,
``STYTCH_RBAC``); whichever Django test module runs first configures these.
"""

from __future__ import annotations

SECRET_KEY = "stytch-rbac-tests-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
INSTALLED_APPS = ["rest_framework"]
DATABASES: dict[str, object] = {}
USE_TZ = True
ROOT_URLCONF = __name__  # replaced by each test
urlpatterns: list[object] = []
MIDDLEWARE = ["stytch_rbac.integrations.django.StytchSessionMiddleware"]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}


def configure() -> None:
    """Configure Django from this module, once per process (a no-op when already done)."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(**{name: value for name, value in globals().items() if name.isupper()})
        django.setup()
