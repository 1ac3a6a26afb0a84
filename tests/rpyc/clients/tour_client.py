"""A classic-mode client that walks rpyc's other handlers, for the decoder's fixtures.

Each step prints one line ``step: result`` so a test can compare what the client saw with what
the decoder reads off the wire. The server is ``rpyc_classic``; the port comes from RPYC_PORT.
"""

import os

import rpyc

conn = rpyc.classic.connect("127.0.0.1", port=int(os.environ["RPYC_PORT"]))
mods = conn.modules

print("ping:", conn.ping() is None)
print("getcwd:", mods.os.getcwd())
print("join:", mods.os.path.join("a", "b", "c"))
print("len:", len(mods.sys.path))
print("getitem:", mods.sys.path[0])
print("contains:", "nope" in mods.sys.path)
remote_list = mods.builtins.list([3, 1, 2])
remote_list.sort()
print("repr:", repr(remote_list))
print("str:", str(remote_list))
print("eq:", remote_list == remote_list)
print("hash:", hash(mods.builtins.frozenset()))
print("dir:", "getcwd" in dir(mods.os))
namespace = mods.builtins.dict()
namespace["answer"] = 42
print("setitem:", namespace["answer"])
mods.sys.rpcspy_marker = "set"
print("setattr:", mods.sys.rpcspy_marker)
del mods.sys.rpcspy_marker
print("delattr:", hasattr(mods.sys, "rpcspy_marker"))
try:
    mods.os.no_such_function()
except AttributeError as exc:
    print("attributeerror:", type(exc).__name__)
try:
    mods.builtins.int("not a number")
except ValueError as exc:
    print("valueerror:", type(exc).__name__)
print("isinstance:", isinstance(remote_list, mods.builtins.list))
print("buffiter:", list(rpyc.buffiter(mods.builtins.range(5))))
print("eval:", conn.eval("6 * 7"))
seen = []
mods.builtins.list(map(seen.append, [1, 2]))
print("callback:", seen)
big = mods.builtins.str("x") * 5000
print("big:", len(big))
with mods.builtins.open(mods.os.devnull) as handle:
    print("ctx:", handle.closed)
conn.close()
