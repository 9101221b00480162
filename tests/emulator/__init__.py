"""Conformance tests of stytch_rbac.emulator against the real stytch SDK."""
