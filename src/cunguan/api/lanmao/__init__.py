"""The Lanmao wire adapter (protocol §1): envelope, signatures, error codes, and the three endpoints
`{base}/gateway`, `{base}/service`, `{base}/download`. Transport only: business lives in custody/.

Modules: `envelope` (outer form), `reqdata` (exact JSON, timestamp window), `pipeline` (the order of
checks), `errors` (exception -> error envelope), `responses` (JSON body, signing, error page),
`registry` + `services` (serviceName -> handler; rooms add one line to `services.ROOM_REGISTRARS`),
`builtin` (QUERY_USER_INFORMATION for system accounts), `router` (FastAPI; `install(app)`).

Decisions where the protocol reference is silent (each is one constant or setting to change):
- Amounts in responses are rendered with exactly two decimals (`Decimal("100.00")` -> `100.00`,
  `0.1` -> `0.10`): a JSON number either way (the gem's `== 500` holds for `500.00`), and Java
  `BigDecimal` readers keep the scale. Handlers return `money.fen_to_decimal(fen)`.
- `timestamp` must be within ±600 s of the bank clock (`Settings.timestamp_window_s`); outside it, or
  malformed or missing, the answer is 100002 naming `timestamp`, the skew and the bank's own time.
  It is read as Beijing time (the gem's fix to `in_time_zone("Beijing")`).
- Unknown serviceName, a notify-only name, a service posted to the wrong endpoint and a catalogued
  service not built yet all answer 100006 (业务未开通) with a message saying which case it is.
- Unknown or revoked keySerial is 100003 (签名验证失败), not 100004: the platform exists.
- Every direct answer, errors included, is signed (header `sign`); download errors too. An error the
  bank cannot sign (its key unreadable) goes out unsigned rather than not at all.
- Gateway errors are an HTML page (HTTP 200) showing errorCode and errorMessage; nothing is posted
  back to `redirectUrl` because an unauthenticated request's URL must not be trusted.
- Refusals use `code "1"` (client sees F for operations, P for queries) unless the error class says
  `call_code = "0"` (client sees P), so rooms can follow §4.3 per refusal.
- A field given twice in the form or a key given twice in reqData is refused (100002): what was
  signed must be unambiguous.
"""

from cunguan.api.lanmao.router import install

__all__ = ["install"]
