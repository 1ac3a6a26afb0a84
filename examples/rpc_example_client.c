/*
 * The client of rpc_example.x: calls every procedure once and prints what came back, or times
 * a loop of LOOKUP calls (the C peer's own round-trip rate, for bench/oncrpc.py).
 *
 *   rpc_example_client HOST PORT tcp|udp          every procedure once, AUTH_SYS credentials
 *   rpc_example_client HOST PORT tcp|udp N        N LOOKUP(2) calls, then "calls N seconds S"
 *
 * PORT 0 asks the portmapper (rpcbind) on HOST for the port. Besides the four procedures it
 * calls procedure 99 (the server answers PROC_UNAVAIL) and version 7 (PROG_MISMATCH), so a
 * capture shows those replies too.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "rpc_example.h"

static CLIENT *connect_to(const char *host, int port, const char *proto, u_long vers)
{
	struct sockaddr_in addr;
	struct timeval wait = {1, 0};
	int sock = RPC_ANYSOCK;
	CLIENT *clnt;

	if (port == 0)
		return clnt_create(host, RPC_EXAMPLE_PROG, vers, proto);
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "HOST must be an IPv4 address when PORT is given\n");
		exit(2);
	}
	if (strcmp(proto, "udp") == 0)
		clnt = clntudp_create(&addr, RPC_EXAMPLE_PROG, vers, wait, &sock);
	else
		clnt = clnttcp_create(&addr, RPC_EXAMPLE_PROG, vers, &sock, 0, 0);
	return clnt;
}

static void print_person(const person *p, const char *indent)
{
	u_int i;
	printf("%sname=%s age=%u id=%lld admin=%d tags=[", indent, p->name, p->age,
	       (long long)p->id, p->admin);
	for (i = 0; i < p->tags.tags_len; i++)
		printf("%s%s", i ? "," : "", p->tags.tags_val[i]);
	printf("]\n");
	if (p->manager) {
		printf("%smanager:\n", indent);
		print_person(p->manager, "    ");
	}
}

static void once(CLIENT *clnt, const char *host, int port, const char *proto)
{
	char *text = "hello, rpcspy";
	char **echoed;
	intpair pair = {2, 40};
	int *sum;
	u_int ids[] = {1, 2, 99};
	lookup_result *found;
	shape shapes[3];
	double *area;
	struct timeval timeout = {5, 0};
	enum clnt_stat stat;
	CLIENT *v7;
	int i;

	echoed = echo_1(&text, clnt);
	if (!echoed) {
		clnt_perror(clnt, "ECHO");
		exit(1);
	}
	printf("ECHO %s\n", *echoed);
	sum = add_1(&pair, clnt);
	if (!sum) {
		clnt_perror(clnt, "ADD");
		exit(1);
	}
	printf("ADD %d\n", *sum);
	pair.a = 2147483647;
	pair.b = -2147483647 - 1;
	sum = add_1(&pair, clnt);
	printf("ADD %d\n", sum ? *sum : 0);
	for (i = 0; i < 3; i++) {
		found = lookup_1(&ids[i], clnt);
		if (!found) {
			clnt_perror(clnt, "LOOKUP");
			exit(1);
		}
		printf("LOOKUP %u status=%d\n", ids[i], found->status);
		if (found->status == 0)
			print_person(&found->lookup_result_u.found, "  ");
		else
			printf("  error=%s\n", found->lookup_result_u.error);
	}
	shapes[0].kind = CIRCLE;
	shapes[0].shape_u.radius = 1.5;
	shapes[1].kind = RECTANGLE;
	shapes[1].shape_u.sides.width = 2.0;
	shapes[1].shape_u.sides.height = 3.5;
	shapes[2].kind = SQUARE;
	shapes[2].shape_u.side = 4.0;
	for (i = 0; i < 3; i++) {
		area = area_1(&shapes[i], clnt);
		if (!area) {
			clnt_perror(clnt, "AREA");
			exit(1);
		}
		printf("AREA %d %.6f\n", shapes[i].kind, *area);
	}
	stat = clnt_call(clnt, 99, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, NULL, timeout);
	printf("PROC99 %s\n", clnt_sperrno(stat));
	v7 = connect_to(host, port, proto, 7);
	if (v7) {
		v7->cl_auth = authnone_create();
		stat = clnt_call(v7, 0, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, NULL,
				 timeout);
		printf("VERSION7 %s\n", clnt_sperrno(stat));
		clnt_destroy(v7);
	}
}

int main(int argc, char **argv)
{
	CLIENT *clnt;
	const char *host, *proto;
	int port;
	long n, i;

	if (argc < 4) {
		fprintf(stderr, "usage: %s HOST PORT tcp|udp [N]\n", argv[0]);
		return 2;
	}
	host = argv[1];
	port = atoi(argv[2]);
	proto = argv[3];
	n = argc > 4 ? atol(argv[4]) : 0;
	clnt = connect_to(host, port, proto, RPC_EXAMPLE_VERS);
	if (clnt == NULL) {
		clnt_pcreateerror(host);
		return 1;
	}
	if (n == 0) {
		/* AUTH_SYS: uid, gid, groups and this machine's name, as a real client sends. */
		auth_destroy(clnt->cl_auth);
		clnt->cl_auth = authunix_create_default();
		once(clnt, host, port, proto);
	} else {
		struct timeval start, end;
		u_int id = 2;
		gettimeofday(&start, NULL);
		for (i = 0; i < n; i++) {
			lookup_result *r = lookup_1(&id, clnt);
			if (!r) {
				clnt_perror(clnt, "LOOKUP");
				return 1;
			}
			xdr_free((xdrproc_t)xdr_lookup_result, (char *)r);
		}
		gettimeofday(&end, NULL);
		printf("calls %ld seconds %.6f\n", n,
		       (end.tv_sec - start.tv_sec) + (end.tv_usec - start.tv_usec) / 1e6);
	}
	clnt_destroy(clnt);
	return 0;
}
