"""``rpcspy.xmlrpc`` exports its names lazily: each is the submodule's own object, and importing
the package (or its typed model) does not load the XML codec."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import rpcspy.xmlrpc as package


@pytest.mark.parametrize("name", package.__all__)
def test_every_exported_name_is_the_submodules_own(name: str) -> None:
    module = importlib.import_module(f"rpcspy.xmlrpc.{package._WHERE[name]}")
    assert getattr(package, name) is getattr(module, name)


def test_the_exports_and_the_map_of_where_they_live_agree() -> None:
    assert sorted(package.__all__) == sorted(package._WHERE)
    assert set(package.__all__) <= set(dir(package))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'decode_everything'"):
        package.decode_everything  # noqa: B018
    with pytest.raises(ImportError):
        exec("from rpcspy.xmlrpc import decode_everything", {})


def test_the_typed_model_loads_without_the_codec_and_the_codec_loads_on_first_use() -> None:
    code = (
        "import sys\n"
        "from rpcspy.xmlrpc import MethodCall, String\n"
        "import rpcspy.capture.index\n"
        "before = sorted(m for m in ('lxml', 'rpcspy.xmlrpc.decode') if m in sys.modules)\n"
        "from rpcspy.xmlrpc import decode_request\n"
        "call = decode_request(b'<methodCall><methodName>a.b</methodName></methodCall>')\n"
        "print(before, call.method, 'lxml' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[] a.b True"
