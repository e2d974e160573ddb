"""S / F / P: how established platform clients read a Lanmao answer (protocol §1.6, the gem's
`operate_post`). A platform acts on this letter, so it must match what their own code would decide:

- operate (writes): HTTP not 2xx (and not 404) -> P; `code == "1"` -> F; `SUCCESS` + `code "0"` -> S;
  anything else (e.g. `code "0"` + `status "INIT"`) -> P.
- query: HTTP not 2xx -> P; `SUCCESS` + `code "0"` -> S; everything else -> P (a query never says F).
- download: a JSON body with `status "INIT"` -> F; anything else -> S (the body is the ZIP).

A wrong response signature makes the gem rewrite `code` to `sign_valid_fail`, so it can never be S.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Outcome = Literal["S", "F", "P"]
Kind = Literal["operate", "query", "download"]

SIGN_INVALID_CODE = "sign_valid_fail"


def classify(http_status: int, body: Mapping | None, *, kind: Kind = "operate") -> Outcome:
    ok_http = 200 <= http_status < 300
    if kind == "download":
        if isinstance(body, Mapping) and str(body.get("status")) == "INIT":
            return "F"
        return "S" if ok_http else "P"
    if not ok_http:
        # The gem lets a 404 fall through to the body rules for operations; with no body that is P.
        if not (kind == "operate" and http_status == 404 and isinstance(body, Mapping)):
            return "P"
    if not isinstance(body, Mapping):
        return "P"
    code = "" if body.get("code") is None else str(body.get("code"))
    status = "" if body.get("status") is None else str(body.get("status"))
    if kind == "operate" and code == "1":
        return "F"
    if status == "SUCCESS" and code == "0":
        return "S"
    return "P"
