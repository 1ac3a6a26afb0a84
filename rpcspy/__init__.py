"""rpcspy: a protocol-inspection proxy and debugger for XML-RPC."""

__version__ = "0.1.0"
