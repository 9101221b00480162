"""The one table of HTTP answers (integrations/responses.py): what each error answers, the
same in the module's docs, the guards guide, FastAPI and Starlette, with Retry-After on a 503."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stytch_rbac import (
    CrossSiteRequest,
    Forbidden,
    InsufficientScope,
    PermissionDenied,
    StytchAPIError,
    StytchRBACError,
    StytchUnavailable,
    TenancyError,
    Unauthenticated,
)
from stytch_rbac.integrations import responses
from stytch_rbac.integrations.fastapi import http_exception
from stytch_rbac.integrations.responses import (
    answer_for,
    error_body,
    error_headers,
    status_for,
)
from stytch_rbac.integrations.starlette import error_response

ROOT = Path(__file__).resolve().parents[2]

#: One sample per row of the table: (row label as the docs write it, error, status, code).
ROWS: list[tuple[str, StytchRBACError, int, str]] = [
    ("Unauthenticated", Unauthenticated("expired"), 401, "unauthenticated"),
    ("PermissionDenied", PermissionDenied("documents", "edit"), 403, "permission_denied"),
    ("TenancyError", TenancyError("org-a", "org-b"), 403, "tenancy_error"),
    ("InsufficientScope", InsufficientScope(["read:documents"]), 403, "insufficient_scope"),
    ("CrossSiteRequest", CrossSiteRequest("sec_fetch_site"), 403, "cross_site_request"),
    ("Forbidden", Forbidden("suspended"), 403, "forbidden"),
    ("StytchUnavailable", StytchUnavailable("down"), 503, "stytch_unavailable"),
    ("StytchAPIError 400", StytchAPIError(400, error_type="invalid_argument"), 400, "bad_request"),
    ("StytchAPIError 404", StytchAPIError(404, error_type="member_not_found"), 404, "not_found"),
    ("StytchAPIError 409", StytchAPIError(409, error_type="conflict"), 409, "conflict"),
    (
        "StytchAPIError other",
        StytchAPIError(401, error_type="unauthorized_credentials"),
        502,
        "stytch_error",
    ),
]


@pytest.mark.parametrize(
    ("error", "status", "code"), [pytest.param(e, s, c, id=label) for label, e, s, c in ROWS]
)
def test_each_error_answers_from_the_table(error: StytchRBACError, status: int, code: str) -> None:
    """status_for, the body, Starlette's response and FastAPI's HTTPException all agree."""
    assert status_for(error) == status
    assert error_body(error)["detail"]["error"] == code  # type: ignore[index]  # a dict
    assert error_response(error).status_code == status
    assert http_exception(error, None).status_code == status


def test_an_unlisted_stytch_status_is_a_bad_gateway() -> None:
    """A StytchAPIError with a status the table does not list is 502, whatever the status."""
    for status in (401, 405, 410, 418, 422, 499):
        assert status_for(StytchAPIError(status)) == 502


def _table_rows(text: str) -> set[tuple[int, str]]:
    """(status, detail.error) pairs of the rows of an rst simple table or a markdown table."""
    rows = set()
    for line in text.splitlines():
        rst = re.fullmatch(r".*?\s{2,}(\d{3})\s{2,}``([a-z_]+)``.*", line)
        if rst:
            rows.add((int(rst.group(1)), rst.group(2)))
            continue
        cells = line.strip().strip("|").split("|")
        if line.startswith("|") and len(cells) == 3:
            status = re.match(r"\s*(\d{3})\b", cells[1])
            code = re.search(r"`([a-z_]+)`", cells[2])
            if status and code:
                rows.add((int(status.group(1)), code.group(1)))
    return rows


def test_the_documented_tables_are_the_table() -> None:
    """The module's docstring and the guards guide list exactly the answers the code gives."""
    from_code = {(status, code) for _, _, status, code in ROWS}
    docstring = responses.__doc__ or ""
    assert _table_rows(docstring.split("Why:")[0]) == from_code
    guide = (ROOT / "docs" / "guides" / "guards.md").read_text()
    section = guide.split("## What the client gets")[1].split("\n## ")[0]
    assert _table_rows(section) == from_code


@pytest.mark.parametrize(
    ("retry_after", "header"),
    [
        pytest.param(7.0, "7", id="whole"),
        pytest.param(2.1, "3", id="rounded-up"),
        pytest.param(0.0, "0", id="zero"),
        pytest.param(None, None, id="unknown"),
    ],
)
def test_retry_after_on_503(retry_after: float | None, header: str | None) -> None:
    """A 503 carries Stytch's Retry-After in whole seconds (rounded up) in both frameworks."""
    error = StytchUnavailable("rate limited", stytch_status=429, retry_after=retry_after)
    expected = {} if header is None else {"Retry-After": header}
    assert error_headers(error) == expected
    assert error_response(error).headers.get("retry-after") == header
    assert (http_exception(error, None).headers or {}).get("Retry-After") == header


def test_retry_after_only_on_503() -> None:
    """A Retry-After kept on another error (a 404) is not sent: it means 'retry later'."""
    assert error_headers(StytchAPIError(404, retry_after=5.0)) == {}


def test_stytch_api_error_body() -> None:
    """The body names Stytch's error type and request id, never Stytch's message."""
    error = StytchAPIError(
        404,
        error_type="member_not_found",
        error_message="Member x@acme.test could not be found.",
        request_id="request-id-test-1",
    )
    assert error_body(error) == {
        "detail": {
            "error": "not_found",
            "message": "Stytch has no such resource",
            "stytch_error_type": "member_not_found",
            "request_id": "request-id-test-1",
        }
    }
    odd = error_body(StytchAPIError(400, error_type="Bearer abc.def"))["detail"]
    assert odd["stytch_error_type"] is None  # type: ignore[index]  # a dict


def test_unavailable_body_keeps_the_request_id() -> None:
    """A 503 made from Stytch's answer carries its request id (for Stytch support)."""
    error = StytchUnavailable("down", request_id="request-id-test-2", stytch_status=503)
    assert error_body(error)["detail"]["request_id"] == "request-id-test-2"  # type: ignore[index]
    assert "request_id" not in error_body(StytchUnavailable("down"))["detail"]  # type: ignore[operator]


def test_errors_carry_no_web_status_of_their_own() -> None:
    """Only the table chooses web statuses: no error class has a status_code but
    StytchAPIError, whose status_code is the status Stytch answered."""
    for cls in (Unauthenticated, Forbidden, PermissionDenied, TenancyError, StytchUnavailable):
        assert not hasattr(cls, "status_code"), cls
    assert StytchAPIError(404).status_code == 404
    assert answer_for(StytchRBACError("bug")) is None
