"""An RPyC record's halves name the netrefs their messages hold (``netrefs``: owner, id and the
name the session gave it), so that show and the TUI write ``<netref modules.os>``."""

from __future__ import annotations

from rpcspy.rpyc.view import detail
from tests.nativecaps import rpyc_records


def test_each_half_names_the_netrefs_it_holds() -> None:
    records = rpyc_records("tour")
    getcwd = next(r for r in records if r.method == "modules.os.getcwd")
    assert getcwd.response is not None and getcwd.response.native is not None
    request = getcwd.request.native or {}
    (os_ref,) = request["netrefs"]
    assert os_ref["owner"] == "server" and os_ref["name"] == "modules.os"
    assert os_ref["id"][0] == "os"
    (fn_ref,) = getcwd.response.native["netrefs"]
    assert fn_ref["name"] == "modules.os.getcwd"
    lines = [text for _, nodes in detail(request, getcwd.response.native) for text, _ in nodes]
    assert "obj  <netref modules.os>" in lines
    assert "value  <netref modules.os.getcwd>" in lines


def test_a_half_without_netrefs_has_no_key() -> None:
    records = rpyc_records("tour")
    call = next(r for r in records if (r.request.native or {}).get("text") == "modules.os.getcwd()")
    assert call.response is not None and call.response.native is not None
    assert [n["name"] for n in (call.request.native or {})["netrefs"]] == ["modules.os.getcwd"]
    assert "netrefs" not in call.response.native  # a string came back
