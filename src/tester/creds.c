// SPDX-License-Identifier: BSD-2-Clause
/*
 * The local credentials file of `apisonar test` (docs/testing.md). Read
 * once, kept in memory for requests only, wiped at the end; every message
 * names the file, the identity and the member, never a credential.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "apisonar/tester/tester.h"
#include "apisonar/util/util.h"

#define CREDS_MAX_FILE (256u << 10)

/* A string member into a fixed buffer; false when absent or too long. */
static bool member(const cJSON *o, const char *name, char *out, size_t outlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	size_t n;

	if (!cJSON_IsString(v))
		return false;
	n = strlen(v->valuestring);
	if (n == 0 || n >= outlen)
		return false;
	memcpy(out, v->valuestring, n + 1);
	return true;
}

/* Runs "command" (split on spaces, no shell) and keeps its first line. */
static int run_command(const char *cmd, char *out, size_t outlen)
{
	char buf[1024], *argv[32], *save = NULL, *tok;
	int pfd[2], argc = 0, status;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	if (strlen(cmd) >= sizeof(buf))
		return -E2BIG;
	memcpy(buf, cmd, strlen(cmd) + 1);
	for (tok = strtok_r(buf, " \t", &save); tok && argc < 31; tok = strtok_r(NULL, " \t", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	if (!argc || pipe(pfd))
		return -EINVAL;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(pfd[1], STDOUT_FILENO);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while (got + 1 < outlen && (n = read(pfd[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	close(pfd[0]);
	out[got] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    !out[0]) {
		OPENSSL_cleanse(out, outlen);
		return -EIO;
	}
	return 0;
}

static int one_identity(const char *path, const cJSON *it, struct tester_identity *id, char *err,
			size_t errlen)
{
	const cJSON *v;

	if (strlen(it->string) >= sizeof(id->name) || !it->string[0]) {
		snprintf(err, errlen, "%s: an identity name is empty or longer than 63 bytes", path);
		return -EINVAL;
	}
	snprintf(id->name, sizeof(id->name), "%s", it->string);
	if (member(it, "bearer", id->secret, sizeof(id->secret))) {
		id->kind = TA_BEARER;
		return 0;
	}
	v = cJSON_GetObjectItemCaseSensitive(it, "header");
	if (v) {
		id->kind = TA_HEADER;
		goto named;
	}
	v = cJSON_GetObjectItemCaseSensitive(it, "query");
	if (v) {
		id->kind = TA_QUERY;
		goto named;
	}
	v = cJSON_GetObjectItemCaseSensitive(it, "cookie");
	if (v) {
		id->kind = TA_COOKIE;
		goto named;
	}
	v = cJSON_GetObjectItemCaseSensitive(it, "basic");
	if (v) {
		id->kind = TA_BASIC;
		if (!member(v, "user", id->param, sizeof(id->param)) ||
		    !member(v, "password", id->secret, sizeof(id->secret))) {
			snprintf(err, errlen, "%s: identity %s: basic needs \"user\" and \"password\"",
				 path, id->name);
			return -EINVAL;
		}
		return 0;
	}
	v = cJSON_GetObjectItemCaseSensitive(it, "command");
	if (cJSON_IsString(v)) {
		const cJSON *as = cJSON_GetObjectItemCaseSensitive(it, "as");
		const char *a = cJSON_IsString(as) ? as->valuestring : "bearer";

		if (run_command(v->valuestring, id->secret, sizeof(id->secret))) {
			snprintf(err, errlen,
				 "%s: identity %s: the command failed or printed no token (it runs "
				 "without a shell: give its full path)",
				 path, id->name);
			return -EINVAL;
		}
		if (strcmp(a, "bearer") == 0) {
			id->kind = TA_BEARER;
			return 0;
		}
		id->kind = strcmp(a, "header") == 0 ? TA_HEADER :
			   strcmp(a, "query") == 0  ? TA_QUERY :
			   strcmp(a, "cookie") == 0 ? TA_COOKIE :
						      TA_BASIC;
		if (id->kind == TA_BASIC || !member(it, "name", id->param, sizeof(id->param))) {
			snprintf(err, errlen,
				 "%s: identity %s: \"as\" is bearer, header, query or cookie, and the "
				 "last three need \"name\"",
				 path, id->name);
			return -EINVAL;
		}
		return 0;
	}
	snprintf(err, errlen,
		 "%s: identity %s: give one of bearer, header, query, cookie, basic or command", path,
		 id->name);
	return -EINVAL;
named:
	if (!member(v, "name", id->param, sizeof(id->param)) ||
	    !member(v, "value", id->secret, sizeof(id->secret))) {
		snprintf(err, errlen, "%s: identity %s: needs \"name\" and \"value\" (value at most %d bytes)",
			 path, id->name, TESTER_MAX_SECRET - 1);
		return -EINVAL;
	}
	return 0;
}

int tester_creds_load(const char *path, struct tester_creds *c, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	if (stat(path, &st)) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "%s: readable by others (mode %04o): credentials files must be 0600 (chmod "
			 "600 %s)",
			 path, (unsigned)(st.st_mode & 07777), path);
		return -EPERM;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by this user", path,
			 (unsigned)st.st_uid);
		return -EPERM;
	}
	rc = read_file_all(path, CREDS_MAX_FILE, &buf, &len);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = tester_creds_parse(path, buf, len, c, err, errlen);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

int tester_creds_parse(const char *label, const char *buf, size_t len, struct tester_creds *c,
		       char *err, size_t errlen)
{
	const cJSON *ids, *it;
	cJSON *doc;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	doc = cJSON_ParseWithLength(buf, len);
	ids = cJSON_GetObjectItemCaseSensitive(doc, "identities");
	if (!cJSON_IsObject(ids) || !ids->child) {
		snprintf(err, errlen, "%s: expected {\"identities\": {NAME: {...}, ...}}", label);
		rc = -EINVAL;
	}
	cJSON_ArrayForEach(it, ids) {
		if (rc)
			break;
		if (c->n >= TESTER_MAX_IDENTITIES) {
			snprintf(err, errlen, "%s: at most %d identities", label, TESTER_MAX_IDENTITIES);
			rc = -E2BIG;
			break;
		}
		rc = one_identity(label, it, &c->id[c->n], err, errlen);
		if (!rc)
			c->n++;
	}
	json_wipe(doc);
	cJSON_Delete(doc);
	if (rc)
		tester_creds_wipe(c);
	return rc;
}

void tester_creds_wipe(struct tester_creds *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
	c->n = 0;
}
