"""Record XML-RPC calls from plain mitmproxy into an rpcspy capture file.

    mitmdump -s addons/rpcspy_record.py --set rpcspy_capture=calls.jsonl
    mitmdump -s addons/rpcspy_record.py --mode reverse:http://127.0.0.1:8000 \
        --set rpcspy_capture=calls.jsonl --set rpcspy_watch=/RPC2
    mitmweb -s addons/rpcspy_record.py      # flows get rpcspy.* metadata; XML-RPC contentview

Options: rpcspy_capture, rpcspy_watch, rpcspy_redact, rpcspy_redact_headers,
rpcspy_keep_headers, rpcspy_redact_query, rpcspy_keep_query, rpcspy_max_body, rpcspy_log (see
`mitmdump -s addons/rpcspy_record.py --options`). The code lives in rpcspy.proxy.
"""

from rpcspy.proxy.addon import RpcspyRecorder

addons = [RpcspyRecorder()]
