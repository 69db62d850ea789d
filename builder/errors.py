"""One shape for every API error: {"error": "...", "details": [{"path", "message", "node_id"?}]}."""

from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: list[dict] | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.details, self.headers = status, message, details or [], headers or {}


def bad_field(path: str, message: str, status: int = 400) -> ApiError:
    return ApiError(status, message, [{"path": path, "message": message}])


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/hooks/")) or request.accept_mimetypes.best == "application/json"


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return jsonify(error=exc.message, details=exc.details), exc.status, exc.headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not _wants_json():
            return exc
        return jsonify(error=exc.description or exc.name, details=[]), exc.code
