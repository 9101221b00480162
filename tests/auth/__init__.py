"""Tests of credential -> principal: claims, JWKS, the session-JWT verifier and its memo."""
