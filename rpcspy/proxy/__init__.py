"""rpcspy inside mitmproxy: the recording addon, the XML-RPC contentview and an in-process runner.

This is the only package that imports mitmproxy. ``addons/rpcspy_record.py`` loads the addon into
plain ``mitmdump``/``mitmproxy``/``mitmweb``; ``ProxyRunner`` / ``run_proxy`` back ``rpcspy proxy``.
"""

from rpcspy.proxy.addon import RpcspyRecorder, record_metadata
from rpcspy.proxy.contentview import XmlRpcContentview, register_contentview
from rpcspy.proxy.runner import (
    ProxyConfig,
    ProxyError,
    ProxyRunner,
    ca_cert_path,
    parse_listen,
    parse_size,
    run_proxy,
)

__all__ = [
    "ProxyConfig",
    "ProxyError",
    "ProxyRunner",
    "RpcspyRecorder",
    "XmlRpcContentview",
    "ca_cert_path",
    "parse_listen",
    "parse_size",
    "record_metadata",
    "register_contentview",
    "run_proxy",
]
