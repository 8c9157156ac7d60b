// SPDX-License-Identifier: BSD-2-Clause
/*
 * A minimal HTTPS client for the e2e tests, linked statically against
 * OpenSSL (libssl.a, libcrypto.a) so that it maps no libssl.so: the sensor
 * must find SSL_read/SSL_write in the executable itself.
 *
 *   tls_static_client PORT N DELAY_MS
 * waits DELAY_MS, then sends N keep-alive GETs /static/<i> to 127.0.0.1:PORT
 * over one TLS connection, reading each response by its Content-Length.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads one response (head + Content-Length body); 0 on success. */
static int read_response(SSL *ssl)
{
	char buf[8192];
	size_t got = 0;
	const char *end, *cl;
	long want = -1;

	for (;;) {
		int n = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got));

		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strcasestr(buf, "content-length:");
		if (!cl)
			return -1;
		want = (end - buf) + 4 + strtol(cl + 15, NULL, 10);
		if ((long)got >= want)
			return 0;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char req[256];
	SSL_CTX *ctx;
	SSL *ssl;
	int fd, i, n;

	if (argc != 4)
		return 2;
	usleep((useconds_t)atoi(argv[3]) * 1000);
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	n = atoi(argv[2]);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return 1;
	ctx = SSL_CTX_new(TLS_client_method());
	ssl = ctx ? SSL_new(ctx) : NULL;
	if (!ssl || !SSL_set_fd(ssl, fd) || SSL_connect(ssl) != 1)
		return 1;
	for (i = 0; i < n; i++) {
		int len = snprintf(req, sizeof(req),
				   "GET /static/%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", i);

		if (SSL_write(ssl, req, len) != len || read_response(ssl))
			return 1;
	}
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	printf("done %d\n", n);
	return 0;
}
