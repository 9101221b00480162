"""Tests of the Flask example, written with the stytch-rbac pytest plugin."""
