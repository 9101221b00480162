"""WWW-Authenticate challenges (RFC 6750 section 3, RFC 9728 section 5.1): the builder and
the headers each refusal is answered with."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stytch_rbac import (
    InsufficientScope,
    PermissionDenied,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
)
from stytch_rbac.integrations.responses import (
    bearer_challenge,
    error_body,
    error_headers,
    openapi_responses,
    status_for,
)

METADATA = "https://api.example.com/.well-known/oauth-protected-resource/mcp"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, "Bearer", id="no-credential"),
        pytest.param({"error": "invalid_token"}, 'Bearer error="invalid_token"', id="invalid"),
        pytest.param(
            {"error": "insufficient_scope", "scope": ["write:documents", "read:documents"]},
            'Bearer error="insufficient_scope", scope="read:documents write:documents"',
            id="scopes-sorted",
        ),
        pytest.param(
            {"error": "insufficient_scope", "scope": []},
            'Bearer error="insufficient_scope"',
            id="no-granting-scope",
        ),
        pytest.param(
            {"resource_metadata": METADATA}, f'Bearer resource_metadata="{METADATA}"', id="rm"
        ),
        pytest.param(
            {"error": "invalid_token", "error_description": 'say "hi" \\ bye'},
            'Bearer error="invalid_token", error_description="say \\"hi\\" \\\\ bye"',
            id="escaped",
        ),
    ],
)
def test_bearer_challenge(kwargs: dict[str, object], expected: str) -> None:
    """The value is the RFC 6750 form: auth-params quoted, in a fixed order."""
    assert bearer_challenge(**kwargs) == expected  # type: ignore[arg-type]


def test_scopes_that_cannot_be_quoted_are_left_out() -> None:
    """A scope with '"', '\\', a space or non-ASCII is no RFC 6749 scope-token: left out."""
    value = bearer_challenge(
        error="insufficient_scope", scope=['a"b', "c\\d", "e f", "caf\u00e9", "ok:1"]
    )
    assert value == 'Bearer error="insufficient_scope", scope="ok:1"'


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"error": "nope"}, ValueError, id="unknown-error-code"),
        pytest.param({"resource_metadata": "https://x\r\nSet-Cookie: a=b"}, ValueError, id="crlf"),
        pytest.param({"error_description": "caf\u00e9"}, ValueError, id="non-ascii"),
        pytest.param({"scope": "read:documents"}, TypeError, id="one-string"),
    ],
)
def test_bad_challenge_input_is_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    """Header injection and mistakes raise instead of writing a broken header."""
    with pytest.raises(error):
        bearer_challenge(**kwargs)  # type: ignore[arg-type]


@given(st.lists(st.text(max_size=12), max_size=6), st.text(max_size=30))
def test_a_challenge_is_always_one_safe_header_line(scopes: list[str], url: str) -> None:
    """Whatever the scopes and URL: no CR/LF, ASCII only, or a ValueError (never a bad header)."""
    try:
        value = bearer_challenge(error="insufficient_scope", scope=scopes, resource_metadata=url)
    except ValueError:
        assert not re.fullmatch(r"[\x20-\x7e]*", url)
        return
    assert value.isascii()
    assert "\r" not in value
    assert "\n" not in value


def test_401_headers() -> None:
    """No credential: ``Bearer``; a refused one: ``invalid_token``; the metadata URL on both."""
    assert error_headers(Unauthenticated("missing")) == {"WWW-Authenticate": "Bearer"}
    assert error_headers(Unauthenticated("wrong_kind")) == {
        "WWW-Authenticate": 'Bearer error="invalid_token"'
    }
    expired = Unauthenticated("expired")
    expired.resource_metadata = METADATA
    assert error_headers(expired) == {
        "WWW-Authenticate": f'Bearer error="invalid_token", resource_metadata="{METADATA}"'
    }
    missing = Unauthenticated("missing")
    missing.resource_metadata = METADATA
    assert error_headers(missing) == {"WWW-Authenticate": f'Bearer resource_metadata="{METADATA}"'}


def test_403_headers_only_for_refused_access_tokens() -> None:
    """A session's 403 has no challenge; an access token's names the scopes that would grant it."""
    session_denial = PermissionDenied("documents", "edit")
    assert error_headers(session_denial) == {}
    token_denial = PermissionDenied("documents", "edit")
    token_denial.scopes = frozenset({"write:documents"})
    assert error_headers(token_denial) == {
        "WWW-Authenticate": 'Bearer error="insufficient_scope", scope="write:documents"'
    }
    tenancy = TenancyError("org-a", "org-b")
    tenancy.scopes = frozenset()
    tenancy.resource_metadata = METADATA
    assert error_headers(tenancy) == {
        "WWW-Authenticate": f'Bearer error="insufficient_scope", resource_metadata="{METADATA}"'
    }
    assert error_headers(StytchUnavailable("down")) == {}


def test_insufficient_scope_is_a_403_naming_what_is_required() -> None:
    """require_scopes' refusal: 403 ``insufficient_scope``; the header lists every required one."""
    exc = InsufficientScope(["write:documents"], required=["read:documents", "write:documents"])
    assert status_for(exc) == 403
    assert exc.missing == ("write:documents",)
    assert error_headers(exc) == {
        "WWW-Authenticate": 'Bearer error="insufficient_scope", '
        'scope="read:documents write:documents"'
    }
    detail = error_body(exc)["detail"]
    assert detail == {
        "error": "insufficient_scope",
        "message": "the access token lacks scope write:documents",
        "missing_scopes": "write:documents",
    }


def test_openapi_documents_the_403_challenge() -> None:
    """The 403 response object declares WWW-Authenticate and lists insufficient_scope."""
    forbidden = openapi_responses((403,))[403]
    assert "WWW-Authenticate" in forbidden["headers"]
    codes = forbidden["content"]["application/json"]["schema"]["properties"]["detail"][
        "properties"
    ]["error"]["enum"]
    assert "insufficient_scope" in codes
