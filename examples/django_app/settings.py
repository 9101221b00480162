"""Django settings of the example: no database, no templates; the facade is named in
``STYTCH_RBAC`` and the session middleware authenticates each request once."""

from __future__ import annotations

SECRET_KEY = "stytch-rbac-example-not-a-secret"  # a real project reads its own from the env
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = ["rest_framework"]
DATABASES: dict[str, object] = {}
USE_TZ = True
ROOT_URLCONF = "examples.django_app.urls"
# The blocking facade the middleware, the guards and the DRF classes use.
STYTCH_RBAC = "examples.django_app.urls.rbac"
MIDDLEWARE = ["stytch_rbac.integrations.django.StytchSessionMiddleware"]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["stytch_rbac.integrations.django.StytchAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
