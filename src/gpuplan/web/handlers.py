"""How the web app answers what went wrong: JSON in FastAPI's ``{"detail": [...]}`` form.

- gpuplan's own errors (they name the field) and bad values caught in the model: 422;
- pydantic's request errors: 422, without the ``input`` FastAPI would echo (a 10 MB field
  must not come back), each message cut to :attr:`Limits.max_excerpt_chars`;
- a request past its deadline: 504; the server too busy to queue it: 503 with Retry-After;
- anything else: a JSON 500 of one line (the traceback goes to the server's log only).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from gpuplan.errors import GpuplanError, ScenarioError, shorten
from gpuplan.web.limits import Limits
from gpuplan.web.work import Busy, Overdue

log = logging.getLogger("gpuplan.web")


def _field_loc(field: str) -> list[str]:
    """'training.precision = 'fp8'' -> ['body', 'training', 'precision']."""
    path = field.split(" = ", 1)[0].strip()
    return ["body", *[p for p in path.split(".") if p]] if path else ["body"]


def _detail(loc: list[Any], msg: str, kind: str, status: int, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"loc": loc, "msg": msg, "type": kind}]}, status_code=status, headers=headers
    )


BODY_KINDS = {
    "missing": "body: required, a JSON object (a scenario mapping)",
    "dict_type": "body: must be a JSON object (a dictionary: the scenario mapping), sent as "
    "application/json",
    "json_invalid": "body: not valid JSON",
}
"""What a request whose body is not a mapping gets told (it was pydantic's 'Field required'
or 'Input should be a valid dictionary', naming nothing a user sent)."""


UNREADABLE: dict[type[BaseException], str] = {
    UnicodeDecodeError: "not UTF-8 text",
    RecursionError: "nested too deeply",
    ValueError: "a number too long to read, over 4,300 digits",
}
"""Why a body could not be parsed, by the parser's exception (FastAPI's 400 names none)."""


def _request_message(error: Any) -> str:
    """One request-validation error as a line naming the field (and the body's trouble)."""
    loc = [str(p) for p in error.get("loc", ())]
    kind = str(error.get("type", ""))
    if loc[:1] == ["body"] and len(loc) <= 2 and kind in BODY_KINDS:
        context = error.get("ctx") or {}
        reason = f" ({context['error']})" if kind == "json_invalid" and "error" in context else ""
        return BODY_KINDS[kind] + reason
    where = ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc)
    given = (
        f" = {shorten(repr(error['input']), 60)}" if "input" in error and kind != "missing" else ""
    )
    return f"{where}{given}: {error.get('msg', '')}" if where else str(error.get("msg", ""))


def _unreadable_body(cut: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The handler of FastAPI's HTTP errors: its 400 'There was an error parsing the body'
    (bytes that are no UTF-8, nesting too deep for the parser, a 5,000-digit number) says
    why, in one line; every other HTTP error keeps FastAPI's answer."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException), "registered for HTTPException"
        cause = exc.__cause__
        if exc.status_code != 400 or cause is None:
            return await http_exception_handler(request, exc)
        why = UNREADABLE.get(type(cause), f"{type(cause).__name__}: {cause}")
        return _detail(["body"], shorten(f"body: cannot be read as JSON ({why})", cut),
                       "body_unreadable", 400)  # fmt: skip

    return handler


def install(app: FastAPI, limits: Limits) -> None:
    """Register the handlers on ``app``."""
    cut = limits.max_excerpt_chars

    async def gpuplan_error(request: Request, exc: Exception) -> JSONResponse:
        field = exc.field if isinstance(exc, ScenarioError) else ""
        kind = "scenario_error" if isinstance(exc, ScenarioError) else "catalog_error"
        return _detail(_field_loc(field), shorten(str(exc), cut), kind, 422)

    async def value_error(request: Request, exc: Exception) -> JSONResponse:
        """Bad values that got past validation into the model (e.g. a loss of zero tokens)."""
        if isinstance(exc, ValidationError):
            error = exc.errors()[0]
            loc = ["body", *[str(p) for p in error["loc"]]]
            text = str(error["msg"]).removeprefix("Value error, ")
            shown = "" if error["type"] == "missing" else f" = {shorten(repr(error['input']), 60)}"
            msg = f"{'.'.join(loc[1:])}{shown}: {text}"
            return _detail(loc, shorten(msg, cut), "value", 422)
        return _detail(["body"], shorten(str(exc), cut), "value_error", 422)

    async def request_error(request: Request, exc: Exception) -> JSONResponse:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        detail = [
            {
                "loc": [shorten(str(p), 60) for p in error.get("loc", ())][:10],
                "msg": shorten(_request_message(error), cut),
                "type": str(error.get("type", "value")),
            }
            for error in list(errors)[:5]
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    async def overdue(request: Request, exc: Exception) -> JSONResponse:
        msg = (
            f"{request.url.path} took longer than this server's limit of "
            f"{limits.request_deadline_s:g} s per request; ask for less (fewer GPU counts, "
            "a global batch) or run it with the CLI"
        )
        return _detail([], msg, "deadline_exceeded", 504)

    async def busy(request: Request, exc: Exception) -> JSONResponse:
        return _detail([], f"server busy: {exc}", "busy", 503, **{"Retry-After": "5"})

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s", request.url.path, exc_info=exc)
        msg = "internal error: the server could not answer this request (its log has the details)"
        return _detail([], msg, "internal_error", 500)

    app.add_exception_handler(HTTPException, _unreadable_body(cut))
    app.add_exception_handler(GpuplanError, gpuplan_error)
    app.add_exception_handler(ValueError, value_error)
    app.add_exception_handler(RequestValidationError, request_error)
    app.add_exception_handler(Overdue, overdue)
    app.add_exception_handler(Busy, busy)
    app.add_exception_handler(Exception, internal)
