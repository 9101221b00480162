"""Tests of the example document service, written with the stytch-rbac pytest plugin."""
