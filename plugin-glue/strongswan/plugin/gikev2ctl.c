/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * gikev2ctl: operator CLI of the gikev2 charon plugin.
 *
 *   gikev2ctl [--uri unix:///var/run/charon-gikev2.ctl] --list
 *   gikev2ctl [--uri ...] --exclude --group NAME --member IDENTITY [--member ...]
 *   gikev2ctl [--uri ...] --rekey --group NAME
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#ifndef IPSEC_PIDDIR
#define IPSEC_PIDDIR "/var/run"
#endif

static int usage(FILE *out)
{
	fprintf(out, "usage: gikev2ctl [--uri unix://PATH] --list\n"
			"       gikev2ctl [--uri unix://PATH] --exclude --group NAME "
			"--member IDENTITY [--member IDENTITY ...]\n"
			"         (several members: excluded together, one LKH rekey)\n"
			"       gikev2ctl [--uri unix://PATH] --rekey --group NAME\n"
			"default URI: unix://" IPSEC_PIDDIR "/charon-gikev2.ctl\n");
	return out == stdout ? 0 : 2;
}

int main(int argc, char *argv[])
{
	struct option options[] = {
		{ "uri", required_argument, NULL, 'u' },
		{ "list", no_argument, NULL, 'l' },
		{ "exclude", no_argument, NULL, 'x' },
		{ "rekey", no_argument, NULL, 'r' },
		{ "group", required_argument, NULL, 'g' },
		{ "member", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *uri = "unix://" IPSEC_PIDDIR "/charon-gikev2.ctl";
	char *verb = NULL, *group = NULL, *line, buf[4096];
	char **members = NULL, **grown;
	size_t count = 0, size, at;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int c, fd, len, failed = 0;
	ssize_t n;

	while ((c = getopt_long(argc, argv, "u:lxrg:m:h", options, NULL)) != -1)
	{
		switch (c)
		{
			case 'u': uri = optarg; break;
			case 'l': verb = "list"; break;
			case 'x': verb = "exclude"; break;
			case 'r': verb = "rekey"; break;
			case 'g': group = optarg; break;
			case 'm':
				grown = realloc(members, (count + 1) * sizeof(*members));
				if (!grown)
				{
					fprintf(stderr, "gikev2ctl: out of memory\n");
					return 1;
				}
				members = grown;
				members[count++] = optarg;
				break;
			case 'h': return usage(stdout);
			default: return usage(stderr);
		}
	}
	if (!verb || (strcmp(verb, "list") && !group) ||
		(!strcmp(verb, "exclude") && !count))
	{
		return usage(stderr);
	}
	if (strncmp(uri, "unix://", 7) ||
		strlen(uri + 7) >= sizeof(addr.sun_path))
	{
		fprintf(stderr, "gikev2ctl: only unix:// URIs are supported\n");
		return 2;
	}
	size = strlen(verb) + (group ? strlen(group) : 0) + 3;
	for (at = 0; at < count; at++)
	{
		if (strpbrk(members[at], " \t\r\n"))
		{
			fprintf(stderr, "gikev2ctl: names must not contain white space\n");
			return 2;
		}
		size += strlen(members[at]) + 1;
	}
	if (group && strpbrk(group, " \t\r\n"))
	{
		fprintf(stderr, "gikev2ctl: names must not contain white space\n");
		return 2;
	}
	strcpy(addr.sun_path, uri + 7);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr*)&addr, sizeof(addr)) < 0)
	{
		perror("gikev2ctl: connecting to charon");
		return 1;
	}
	line = malloc(size + 1);
	if (!line)
	{
		fprintf(stderr, "gikev2ctl: out of memory\n");
		return 1;
	}
	len = snprintf(line, size + 1, "%s %s", verb, group ?: "");
	for (at = 0; at < count && len > 0; at++)
	{
		len += snprintf(line + len, size + 1 - len, " %s", members[at]);
	}
	len += snprintf(line + len, size + 1 - len, "\n");
	if (len <= 0 || (size_t)len > size || write(fd, line, len) != len)
	{
		fprintf(stderr, "gikev2ctl: sending the command failed\n");
		return 1;
	}
	free(line);
	free(members);
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
	{
		fwrite(buf, 1, n, stdout);
		if (n >= 6 && !strncmp(buf, "error:", 6))
		{
			failed = 1;
		}
	}
	close(fd);
	return failed;
}
