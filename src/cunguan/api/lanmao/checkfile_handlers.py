"""Check files on the Lanmao wire (§2.8): DOWNLOAD_CHECKFILE (download mode: the ZIP bytes, or the
JSON error with status INIT that the pipeline renders) and CONFIRM_CHECKFILE (service mode, one
transaction). The business lives in `custody/check_files.py`."""

from __future__ import annotations

from typing import Any

from cunguan.api.lanmao.context import ServiceContext
from cunguan.api.lanmao.registry import Registry
from cunguan.custody import check_files
from cunguan.db.tx import run_in_transaction


def download_checkfile(ctx: ServiceContext, req: dict[str, Any]) -> bytes:
    with ctx.engine.connect() as conn:  # read-only: no write lock (SQLite deferred BEGIN)
        try:
            return check_files.download(conn.execution_options(sqlite_deferred=True), ctx.clock, ctx.platform_no,
                                        req)
        finally:
            conn.rollback()


def confirm_checkfile(ctx: ServiceContext, req: dict[str, Any]) -> dict[str, Any]:
    return run_in_transaction(ctx.engine, lambda conn: check_files.confirm(conn, ctx.clock, ctx.platform_no, req))


def register(registry: Registry) -> None:
    registry.register("DOWNLOAD_CHECKFILE", download_checkfile)
    registry.register("CONFIRM_CHECKFILE", confirm_checkfile)
