/* xmlrpc-c (C library, Abyss HTTP server) as a server: server HOST PORT
   PEER_C_DIALECT=apache selects xmlrpc_dialect_apache for responses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <xmlrpc-c/base.h>
#include <xmlrpc-c/server.h>
#include <xmlrpc-c/server_abyss.h>

static xmlrpc_value *m_add(xmlrpc_env *env, xmlrpc_value *p, void *c, void *s) {
    int a, b; xmlrpc_decompose_value(env, p, "(ii)", &a, &b);
    return env->fault_occurred ? NULL : xmlrpc_build_value(env, "i", a + b);
}
static xmlrpc_value *m_echo(xmlrpc_env *env, xmlrpc_value *p, void *c, void *s) {
    xmlrpc_value *v; xmlrpc_decompose_value(env, p, "(V)", &v);
    return env->fault_occurred ? NULL : v;
}
static xmlrpc_value *m_bigstruct(xmlrpc_env *env, xmlrpc_value *p, void *c, void *s) {
    return xmlrpc_build_value(env, "{s:I,s:i,s:i}", "big", (xmlrpc_int64)1099511627776LL, "small", 7, "neg", -5);
}
static xmlrpc_value *m_fail(xmlrpc_env *env, xmlrpc_value *p, void *c, void *s) {
    xmlrpc_env_set_fault(env, 4, "boom"); return NULL;
}
static xmlrpc_value *m_nil(xmlrpc_env *env, xmlrpc_value *p, void *c, void *s) { return xmlrpc_nil_new(env); }
static xmlrpc_value *m_types(xmlrpc_env *env, xmlrpc_value *p, void *c, void *s) {
    static const char hello[] = "hello world hello world hello world hello world hello world hello world hello world hello world ";
    return xmlrpc_build_value(env, "(bbd86s)", (xmlrpc_bool)1, (xmlrpc_bool)0, 1.5, "20261201T08:30:00",
                              (const unsigned char *)hello, strlen(hello), "");
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: server HOST PORT\n"); return 2; }
    xmlrpc_env env; xmlrpc_env_init(&env);
    xmlrpc_registry *reg = xmlrpc_registry_new(&env);
    struct { const char *n; xmlrpc_method2 f; } ms[] = {
        {"add", m_add}, {"echo", m_echo}, {"bigstruct", m_bigstruct}, {"fail", m_fail}, {"nil", m_nil}, {"types", m_types}};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        struct xmlrpc_method_info3 info = {0};
        info.methodName = ms[i].n; info.methodFunction = ms[i].f;
        xmlrpc_registry_add_method3(&env, reg, &info);
    }
    const char *d = getenv("PEER_C_DIALECT");
    if (d && strcmp(d, "apache") == 0) xmlrpc_registry_set_dialect(&env, reg, xmlrpc_dialect_apache);
    /* bind to the given address ourselves: Abyss would otherwise listen on all interfaces */
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[2])); inet_pton(AF_INET, argv[1], &a.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); return 1; }
    xmlrpc_server_abyss_parms sp = {0};
    sp.config_file_name = NULL;
    sp.registryP = reg;
    sp.log_file_name = "/dev/null";
    sp.socket_bound = 1;
    sp.socket_handle = fd;
    xmlrpc_server_abyss(&env, &sp, XMLRPC_APSIZE(socket_handle));
    if (env.fault_occurred) { fprintf(stderr, "server: %s\n", env.fault_string); return 1; }
    return 0;
}
