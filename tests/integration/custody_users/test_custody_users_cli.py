"""`cunguan users pending | show | review` on a real database."""

from typer.testing import CliRunner

from cunguan.cli import app
from cunguan.custody import enterprise

from .conftest import P1


def _cli(*args: str):
    return CliRunner().invoke(app, ["users", *args])


def test_pending_show_and_review(platforms_on, svc, db_url):
    svc(enterprise.enterprise_register, svc.enterprise_request("e1"))
    person, _ = svc.register("u1")
    res = _cli("pending", "--db", db_url, "--platform-no", P1)
    assert res.exit_code == 0, res.output
    assert "e1" in res.output and "u1" not in res.output and "1 waiting" in res.output

    res = _cli("show", "--db", db_url, "--platform-no", P1, "--user", "u1")
    assert res.exit_code == 0, res.output
    assert "balance: 0.00" in res.output and person.card not in res.output and person.id_card_no not in res.output

    res = _cli("review", "--db", db_url, "--platform-no", P1, "--user", "e1", "--decision", "passed",
               "--operator", "op-9", "--remark", "ok")
    assert res.exit_code == 0, res.output
    assert "AUDIT -> PASSED" in res.output
    assert "0 waiting" in _cli("pending", "--db", db_url).output

    res = _cli("review", "--db", db_url, "--platform-no", P1, "--user", "e1", "--decision", "BACK",
               "--operator", "op-9")
    assert res.exit_code == 1
    assert _cli("show", "--db", db_url, "--platform-no", P1, "--user", "nobody").exit_code == 1
