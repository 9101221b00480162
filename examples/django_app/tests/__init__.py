"""Tests of the Django example, written with the stytch-rbac pytest plugin."""
