"""Check files on the Lanmao wire (§2.8): DOWNLOAD_CHECKFILE (download mode: the ZIP bytes, or the
JSON error with status INIT that the pipeline renders) and CONFIRM_CHECKFILE (service mode, one
transaction). The business lives in `custody/check_files.py`."""

from __future__ import annotations

from cunguan.api.lanmao.handler_kit import in_transaction, read_only
from cunguan.api.lanmao.registry import Registry
from cunguan.custody import check_files


def register(registry: Registry) -> None:
    registry.register("DOWNLOAD_CHECKFILE", read_only(
        lambda conn, ctx, req: check_files.download(conn, ctx.clock, ctx.platform_no, req)))
    registry.register("CONFIRM_CHECKFILE", in_transaction(check_files.confirm))
