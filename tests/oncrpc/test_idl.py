"""The rpcgen ``.x`` parser: the language of RFC 4506 §6 and RFC 5531 §12 with what rpcgen
accepts, errors with line:column, and the interfaces real systems ship."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpcspy.oncrpc import (
    Array,
    BadIdl,
    Int,
    Opaque,
    String,
    Struct,
    UInt,
    builtin_interface,
    decode,
    parse_idl,
    portmap_interface,
)
from rpcspy.oncrpc.xdr import (
    ArrayType,
    EnumType,
    NamedType,
    OpaqueType,
    OptionalType,
    StringType,
    StructType,
    UnionType,
)
from tests.oncrpc.peers import EXAMPLES

FULL = """
/* block comment */ // and a line comment
%#include <stdio.h>
%passed to C: { not parsed ;
#define BIGGEST 0x10
const SMALL = 4;
const NEGATIVE = -3;
const OCTAL = 010;
const LATER = LAST_PROC;   /* a constant defined further down, as rpcb_prot.x does */
typedef opaque handle[SMALL];
typedef string name<BIGGEST>;
typedef int counts<>;
typedef entry *entry_ptr;
typedef unsigned hyper stamps[2];
enum mode { READ = 1, WRITE, APPEND = 8 };
struct entry {
    name who;
    unsigned long flags;
    struct entry *next;
};
union result switch (mode m) {
case READ:
case WRITE:
    opaque data<SMALL>;
case APPEND:
    void;
default:
    string why<>;
};
program DEMO_PROG {
    version DEMO_V1 {
        void NOTHING(void) = 0;
        result DO(entry, mode, string) = 1;
        string LAST_PROC(unsigned int) = 2;
    } = 1;
    version DEMO_V2 { entry_ptr FIRST(void) = 1; } = 2;
} = 0x20000001;
"""


def test_every_construct_of_the_language() -> None:
    idl = parse_idl(FULL, "full.x")
    assert idl.constants["SMALL"] == 4 and idl.constants["NEGATIVE"] == -3
    assert idl.constants["OCTAL"] == 8 and idl.constants["BIGGEST"] == 16
    assert idl.constants["READ"] == 1 and idl.constants["WRITE"] == 2  # numbered on
    assert idl.constants["LAST_PROC"] == 2 and idl.constants["LATER"] == 2
    assert idl.constants["DEMO_PROG"] == 0x20000001
    assert isinstance(idl.type("handle"), OpaqueType) and idl.type("handle").spelling == "opaque[4]"
    assert isinstance(idl.type("name"), StringType) and idl.type("name").spelling == "string<16>"
    assert idl.type("counts").spelling == "int<>"
    assert idl.type("stamps").spelling == "unsigned hyper[2]"
    mode = idl.type("mode")
    assert isinstance(mode, EnumType) and mode.members == (("READ", 1), ("WRITE", 2), ("APPEND", 8))
    entry = idl.type("entry")
    assert isinstance(entry, StructType)
    assert [(n, t.spelling) for n, t in entry.fields] == [
        ("who", "name"),
        ("flags", "unsigned int"),
        ("next", "entry *"),
    ]
    next_type = entry.fields[2][1]
    assert isinstance(next_type, OptionalType) and isinstance(next_type.element, NamedType)
    assert next_type.element.resolved() is entry  # refers to itself
    result = idl.type("result")
    assert isinstance(result, UnionType)
    assert result.arms[1] is result.arms[2] and result.arms[1].name == "data"
    assert result.arms[8].name is None and result.default is not None
    program = idl.programs[0x20000001]
    assert program.name == "DEMO_PROG" and sorted(program.versions) == [1, 2]
    do = program.versions[1].procedures[1]
    assert do.signature == "result DO(entry, mode, string<>) = 1"
    assert program.versions[1].procedures[2].name == "LAST_PROC"
    assert program.versions[2].procedures[1].result.resolved().spelling == "entry *"


def test_an_interface_decodes_several_arguments() -> None:
    idl = parse_idl(FULL)
    proc = idl.procedure(0x20000001, 1, 1)
    assert proc is not None
    wire = bytes.fromhex(
        "00000002"
        "6869"
        "0000"  # who "hi"
        "00000007"
        "00000000"  # flags 7, next NULL
        "00000001"  # mode READ
        "00000001"
        "78000000"  # string "x"
    )
    entry, mode, text = idl.decode_args(proc, wire)
    assert isinstance(entry, Struct) and entry["who"] == String(b"hi")
    assert entry["flags"] == UInt(7)
    assert text == String(b"x")
    assert idl.encode_args(proc, [entry, mode, text]) == wire


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("const X = 1", (1, 12), "expected ';' after a definition, found the end of the file"),
        ("struct s {\n  int a;\n  int a;\n};", (3, 7), "struct s has two fields named a"),
        ("typedef foo bar;", (1, 9), "type 'foo' is used but never defined"),
        ("struct s { string x; };", (1, 20), "expected '<' after 'string x'"),
        ("const A = 1;\nconst A = 2;", (2, 7), "constant 'A' is defined twice (1 and 2)"),
        ("union u switch (string s<>) { case 1: void; };", (1, 17), "must be an int"),
        (
            "enum e { A = 1 };\nunion u switch (e d) { case 2: int x; };",
            (2, 29),
            "case 2 is not a value of enum e",
        ),
        ("struct s { int a; } /* never closed", (1, 21), "a comment is never closed"),
        (
            "program P { version V { void F(void) = 1; } = 1; } = 5;\n"
            "program Q { version W { void G(void) = 1; } = 1; } = 5;",
            (2, 9),
            "program number 5 is defined twice",
        ),
        ("struct s { int x[SIZE]; };", (1, 18), "'SIZE' as the size of x is not a constant"),
        ("typedef int x$;", (1, 14), "unexpected character '$'"),
    ],
)
def test_errors_say_line_and_column(text: str, where: tuple[int, int], words: str) -> None:
    with pytest.raises(BadIdl) as caught:
        parse_idl(text, "bad.x")
    assert words in caught.value.reason
    assert (caught.value.line, caught.value.column) == where
    assert caught.value.reason.startswith("bad.x: ") or "comment" in words or "$" in words


def test_the_example_interface_reads() -> None:
    idl = parse_idl((EXAMPLES / "rpc_example.x").read_text(encoding="utf-8"), "rpc_example.x")
    version = idl.programs[0x20000099].versions[1]
    assert {p.number: p.signature for p in version.procedures.values()} == {
        1: "string<> ECHO(string<>) = 1",
        2: "int ADD(intpair) = 2",
        3: "lookup_result LOOKUP(unsigned int) = 3",
        4: "double AREA(shape) = 4",
    }


def test_the_portmapper_is_built_in() -> None:
    pm = portmap_interface()
    assert pm is builtin_interface()
    assert sorted(pm.programs[100000].versions) == [2, 3, 4]
    names = {
        v: sorted(p.name for p in pm.programs[100000].versions[v].procedures.values())
        for v in (2, 3, 4)
    }
    assert names[2] == sorted(
        ["PMAPPROC_NULL", "PMAPPROC_SET", "PMAPPROC_UNSET", "PMAPPROC_GETPORT",
         "PMAPPROC_DUMP", "PMAPPROC_CALLIT"]
    )  # fmt: skip
    assert {"RPCBPROC_GETADDR", "RPCBPROC_DUMP", "RPCBPROC_GETTIME", "RPCBPROC_CALLIT"} <= set(
        names[3]
    )
    assert {"RPCBPROC_GETVERSADDR", "RPCBPROC_GETADDRLIST", "RPCBPROC_GETSTAT"} <= set(names[4])
    mapping = pm.type("mapping")
    wire = bytes.fromhex("000186a000000002000000060000006f")
    assert decode(mapping, wire) == Struct(
        "mapping",
        (("prog", UInt(100000)), ("vers", UInt(2)), ("prot", UInt(6)), ("port", UInt(111))),
    )
    stat = pm.type("rpcb_stat_byvers")
    assert isinstance(stat, ArrayType) and stat.fixed == 3


def test_a_user_interface_merges_with_the_builtin_one() -> None:
    mine = parse_idl("program MINE { version V { int F(opaque_t) = 1; } = 1; } = 99;"
                     "typedef opaque opaque_t<>;")  # fmt: skip
    both = builtin_interface(mine)
    assert 99 in both.programs and 100000 in both.programs
    proc = both.procedure(99, 1, 1)
    assert proc is not None
    assert both.decode_args(proc, bytes.fromhex("00000001ff000000")) == (Opaque(b"\xff"),)
    assert both.decode_result(proc, bytes.fromhex("ffffffff")) == Int(-1)


SYSTEM_X = Path("/usr/include/rpcsvc")
#: The system interfaces that rpcgen reads only after cpp and C headers define names for them
#: (MAXNETNAMELEN, nis_object from an #include, LM_MAXSTRLEN inside #ifdef RPC_HDR, netbuf).
NEEDS_C = {"key_prot.x", "nis.x", "nis_callback.x", "nlm_prot.x"}


@pytest.mark.skipif(not SYSTEM_X.is_dir(), reason="no /usr/include/rpcsvc (rpcsvc-proto)")
@pytest.mark.parametrize(
    "name", sorted(p.name for p in SYSTEM_X.glob("*.x")) if SYSTEM_X.is_dir() else []
)
def test_the_interfaces_rpcsvc_proto_ships(name: str) -> None:
    text = (SYSTEM_X / name).read_text(encoding="utf-8", errors="replace")
    if name in NEEDS_C:
        with pytest.raises(BadIdl) as caught:
            parse_idl(text, name)
        assert caught.value.line is not None
        return
    idl = parse_idl(text, name)
    assert idl.types or idl.programs
    for program in idl.programs.values():
        for version in program.versions.values():
            for proc in version.procedures.values():
                for t in (*proc.args, proc.result):
                    t.resolved()  # every name is bound


def test_nfs_readdir_arguments_decode_with_the_shipped_interface() -> None:
    path = SYSTEM_X / "nfs_prot.x"
    if not path.exists():
        pytest.skip("no /usr/include/rpcsvc/nfs_prot.x")
    nfs = parse_idl(path.read_text(encoding="utf-8"), "nfs_prot.x")
    proc = nfs.procedure(100003, 2, 16)
    assert proc is not None and proc.name == "NFSPROC_READDIR"
    handle = bytes(range(32))
    (args,) = nfs.decode_args(proc, handle + bytes.fromhex("0000000000001000"))
    assert isinstance(args, Struct) and args["dir"] == Struct("nfs_fh", (("data", Opaque(handle)),))
    assert args["count"] == UInt(4096)
    assert args["cookie"] == Opaque(bytes(4))
    assert not isinstance(args["cookie"], Array)
