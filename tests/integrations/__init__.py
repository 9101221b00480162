"""Tests of the web-framework glue (guards, responses, FastAPI, Starlette)."""
