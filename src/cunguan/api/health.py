"""GET /health: the process is up and the database answers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cunguan.db.reads import reading

router = APIRouter()


@router.get("/health")
def health(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    try:
        with reading(engine) as conn:
            conn.exec_driver_sql("SELECT 1").scalar()
    except Exception:  # noqa: BLE001 - health must answer, not raise
        return JSONResponse({"status": "DOWN", "database": engine.dialect.name}, status_code=503)
    return JSONResponse({"status": "UP", "database": engine.dialect.name})
