"""rpcspy inside mitmproxy: the recording addon, the XML-RPC contentview and an in-process runner.

This is the only package that imports mitmproxy. ``addons/rpcspy_record.py`` loads the addon into
plain ``mitmdump``/``mitmproxy``/``mitmweb``; ``ProxyRunner`` / ``run_proxy`` back ``rpcspy proxy``.

Names are loaded on first use: importing mitmproxy takes over half a second, and a command that
only needs ``ProxyConfig`` or ``ProxyError`` should not pay for it before it runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rpcspy.proxy.addon import RpcspyRecorder, record_metadata
    from rpcspy.proxy.contentview import XmlRpcContentview, register_contentview
    from rpcspy.proxy.runner import (
        ListenError,
        ProxyConfig,
        ProxyError,
        ProxyRunner,
        ca_cert_path,
        parse_size,
        run_proxy,
    )

_WHERE = {
    "RpcspyRecorder": "addon",
    "record_metadata": "addon",
    "XmlRpcContentview": "contentview",
    "register_contentview": "contentview",
    "ListenError": "runner",
    "ProxyConfig": "runner",
    "ProxyError": "runner",
    "ProxyRunner": "runner",
    "ca_cert_path": "runner",
    "parse_size": "runner",
    "run_proxy": "runner",
}

__all__ = [
    "ListenError",
    "ProxyConfig",
    "ProxyError",
    "ProxyRunner",
    "RpcspyRecorder",
    "XmlRpcContentview",
    "ca_cert_path",
    "parse_size",
    "record_metadata",
    "register_contentview",
    "run_proxy",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'rpcspy.proxy' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rpcspy.proxy.{module}"), name)
