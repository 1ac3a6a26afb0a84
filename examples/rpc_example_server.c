/*
 * The server of rpc_example.x: the procedure bodies rpcgen's template asks for, and a main()
 * that serves TCP and UDP on one port of 127.0.0.1.
 *
 *   rpc_example_server PORT [register]
 *
 * PORT 0 picks a free port. With "register" the program is also registered with the local
 * portmapper (rpcbind), so `rpcinfo -p` lists it; without, clients give the port themselves.
 * Prints "ready TCPPORT UDPPORT" once both are served.
 */
#include <math.h>
#include <netinet/in.h>
#include <rpc/pmap_clnt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc_example.h"

extern void rpc_example_prog_1(struct svc_req *, SVCXPRT *);

char **echo_1_svc(char **argp, struct svc_req *rqstp)
{
	static char *result;
	result = *argp;
	return &result;
}

int *add_1_svc(intpair *argp, struct svc_req *rqstp)
{
	static int result;
	/* Wrap around like the wire's 32-bit int does, without C's signed-overflow trap. */
	result = (int)((unsigned int)argp->a + (unsigned int)argp->b);
	return &result;
}

static name_t ada_tags[] = {"math", "poetry"};
static name_t charles_tags[] = {"engines"};
static person charles = {"Charles Babbage", 79, 1791, TRUE, {1, charles_tags}, NULL};
static person ada = {"Ada Lovelace", 36, -1815, FALSE, {2, ada_tags}, &charles};

lookup_result *lookup_1_svc(u_int *argp, struct svc_req *rqstp)
{
	static lookup_result result;
	static char error[80];
	if (*argp == 1 || *argp == 2) {
		result.status = 0;
		result.lookup_result_u.found = *argp == 1 ? ada : charles;
	} else {
		result.status = 404;
		snprintf(error, sizeof error, "no person with id %u", *argp);
		result.lookup_result_u.error = error;
	}
	return &result;
}

double *area_1_svc(shape *argp, struct svc_req *rqstp)
{
	static double result;
	switch (argp->kind) {
	case CIRCLE:
		result = M_PI * argp->shape_u.radius * argp->shape_u.radius;
		break;
	case RECTANGLE:
		result = argp->shape_u.sides.width * argp->shape_u.sides.height;
		break;
	case SQUARE:
		result = argp->shape_u.side * argp->shape_u.side;
		break;
	}
	return &result;
}

static int bound_socket(int type, int port)
{
	struct sockaddr_in addr;
	int one = 1;
	int fd = socket(AF_INET, type, 0);
	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		perror("bind");
		exit(1);
	}
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof addr;
	getsockname(fd, (struct sockaddr *)&addr, &len);
	return ntohs(addr.sin_port);
}

int main(int argc, char **argv)
{
	int port, reg, tcp_fd, udp_fd;
	SVCXPRT *tcp, *udp;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PORT [register]\n", argv[0]);
		return 2;
	}
	port = atoi(argv[1]);
	reg = argc > 2 && strcmp(argv[2], "register") == 0;

	tcp_fd = bound_socket(SOCK_STREAM, port);
	if (listen(tcp_fd, 16) < 0) {
		perror("listen");
		return 1;
	}
	udp_fd = bound_socket(SOCK_DGRAM, port_of(tcp_fd));
	if (reg)
		pmap_unset(RPC_EXAMPLE_PROG, RPC_EXAMPLE_VERS);

	tcp = svctcp_create(tcp_fd, 0, 0);
	udp = svcudp_create(udp_fd);
	if (tcp == NULL || udp == NULL) {
		fprintf(stderr, "cannot create the TCP or UDP service\n");
		return 1;
	}
	if (!svc_register(tcp, RPC_EXAMPLE_PROG, RPC_EXAMPLE_VERS, rpc_example_prog_1,
			  reg ? IPPROTO_TCP : 0)) {
		fprintf(stderr, "unable to register (RPC_EXAMPLE_PROG, RPC_EXAMPLE_VERS, tcp)\n");
		return 1;
	}
	if (!svc_register(udp, RPC_EXAMPLE_PROG, RPC_EXAMPLE_VERS, rpc_example_prog_1,
			  reg ? IPPROTO_UDP : 0)) {
		fprintf(stderr, "unable to register (RPC_EXAMPLE_PROG, RPC_EXAMPLE_VERS, udp)\n");
		return 1;
	}
	printf("ready %d %d\n", port_of(tcp_fd), port_of(udp_fd));
	fflush(stdout);
	svc_run();
	fprintf(stderr, "svc_run returned\n");
	return 1;
}
