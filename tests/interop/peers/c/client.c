/* xmlrpc-c (C library) as a client: client HOST PORT SCENARIO
   PEER_C_DIALECT=apache selects xmlrpc_dialect_apache (<ex:nil/>, <ex:i8>). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlrpc-c/base.h>
#include <xmlrpc-c/client.h>

static void print_value(xmlrpc_env *env, xmlrpc_value *v) {
    switch (xmlrpc_value_type(v)) {
    case XMLRPC_TYPE_INT: { int i; xmlrpc_read_int(env, v, &i); printf("int %d", i); break; }
    case XMLRPC_TYPE_I8: { xmlrpc_int64 i; xmlrpc_read_i8(env, v, &i); printf("i8 %lld", (long long)i); break; }
    case XMLRPC_TYPE_STRING: { const char *s; xmlrpc_read_string(env, v, &s); printf("string \"%s\"", s); free((void *)s); break; }
    case XMLRPC_TYPE_NIL: printf("nil"); break;
    case XMLRPC_TYPE_ARRAY: {
        int n = xmlrpc_array_size(env, v); printf("array[");
        for (int i = 0; i < n; i++) { xmlrpc_value *e; xmlrpc_array_read_item(env, v, i, &e); if (i) printf(", "); print_value(env, e); xmlrpc_DECREF(e); }
        printf("]"); break; }
    case XMLRPC_TYPE_STRUCT: {
        int n = xmlrpc_struct_size(env, v); printf("struct{");
        for (int i = 0; i < n; i++) { xmlrpc_value *k, *e; xmlrpc_struct_read_member(env, v, i, &k, &e);
            const char *ks; xmlrpc_read_string(env, k, &ks); printf("%s%s: ", i ? ", " : "", ks); free((void *)ks);
            print_value(env, e); xmlrpc_DECREF(k); xmlrpc_DECREF(e); }
        printf("}"); break; }
    default: printf("type %d", (int)xmlrpc_value_type(v));
    }
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: client HOST PORT SCENARIO\n"); return 2; }
    char url[256];
    snprintf(url, sizeof url, "http://%s:%s/RPC2", argv[1], argv[2]);
    const char *sc = argv[3];
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    struct xmlrpc_clientparms parms;
    memset(&parms, 0, sizeof parms);
    const char *d = getenv("PEER_C_DIALECT");
    parms.dialect = (d && strcmp(d, "apache") == 0) ? xmlrpc_dialect_apache : xmlrpc_dialect_i8;
    xmlrpc_client_init2(&env, XMLRPC_CLIENT_NO_FLAGS, "rpcspy-interop-xmlrpc-c", "1",
                        &parms, XMLRPC_CPSIZE(dialect));
    if (env.fault_occurred) { printf("error: init %s\n", env.fault_string); return 0; }
    static const char hello[] = "hello world hello world hello world hello world hello world hello world hello world hello world ";
    xmlrpc_value *r = NULL;
    if (!strcmp(sc, "plain")) r = xmlrpc_client_call(&env, url, "add", "(ii)", 2, 3);
    else if (!strcmp(sc, "string")) r = xmlrpc_client_call(&env, url, "echo", "(s)", "a<b & c> \xc3\xa9");
    else if (!strcmp(sc, "bigint"))
        r = xmlrpc_client_call(&env, url, "demo.echo", "({s:I,s:i,s:i})", "big", (xmlrpc_int64)1099511627776LL,
                               "small", 7, "neg", -5);
    else if (!strcmp(sc, "fault")) r = xmlrpc_client_call(&env, url, "demo.fault", "(is)", 4, "boom");
    else if (!strcmp(sc, "multicall"))  /* no client multicall helper in the C API: by hand */
        r = xmlrpc_client_call(&env, url, "system.multicall", "(({s:s,s:(ii)}{s:s,s:(is)}))",
                               "methodName", "add", "params", 1, 2, "methodName", "demo.fault", "params", 7, "x");
    else if (!strcmp(sc, "nil")) r = xmlrpc_client_call(&env, url, "demo.echo", "(n)");
    else if (!strcmp(sc, "types"))
        r = xmlrpc_client_call(&env, url, "demo.echo", "((bbd86s))", (xmlrpc_bool)1, (xmlrpc_bool)0, 1.5,
                               "20261201T08:30:00", (const unsigned char *)hello, strlen(hello), "");
    else { fprintf(stderr, "unknown scenario %s\n", sc); return 2; }
    if (env.fault_occurred) printf("fault: %d %s\n", env.fault_code, env.fault_string);
    else { printf("result: "); print_value(&env, r); printf("\n"); xmlrpc_DECREF(r); }
    xmlrpc_env_clean(&env);
    xmlrpc_client_cleanup();
    return 0;
}
