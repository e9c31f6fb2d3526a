/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * gikev2ctl: operator CLI of the gikev2 charon plugin.
 *
 *   gikev2ctl [--uri unix:///var/run/charon-gikev2.ctl] --list
 *   gikev2ctl [--uri ...] --exclude --group NAME --member IDENTITY
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
			"--member IDENTITY\n"
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
	char *verb = NULL, *group = NULL, *member = NULL, line[1200], buf[4096];
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
			case 'm': member = optarg; break;
			case 'h': return usage(stdout);
			default: return usage(stderr);
		}
	}
	if (!verb || (strcmp(verb, "list") && !group) ||
		(!strcmp(verb, "exclude") && !member))
	{
		return usage(stderr);
	}
	if (strncmp(uri, "unix://", 7) ||
		strlen(uri + 7) >= sizeof(addr.sun_path))
	{
		fprintf(stderr, "gikev2ctl: only unix:// URIs are supported\n");
		return 2;
	}
	if ((group && strpbrk(group, " \t\r\n")) ||
		(member && strpbrk(member, " \t\r\n")))
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
	len = snprintf(line, sizeof(line), "%s %s %s\n", verb, group ?: "",
				   member ?: "");
	if (len < 0 || len >= (int)sizeof(line) || write(fd, line, len) != len)
	{
		fprintf(stderr, "gikev2ctl: sending the command failed\n");
		return 1;
	}
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
