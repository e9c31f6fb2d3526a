/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "gikev2_kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <threading/mutex.h>
#include <collections/linked_list.h>
#include <kernel/kernel_ipsec.h>

typedef struct private_gikev2_kernel_t private_gikev2_kernel_t;

/** One installed SA direction. */
typedef struct {
	uint8_t protocol;
	uint32_t spi;
	bool inbound;
	uint32_t reqid;
	ipsec_mode_t mode;
	host_t *src;
	host_t *dst;
	traffic_selector_t *src_ts;
	traffic_selector_t *dst_ts;
} entry_t;

struct private_gikev2_kernel_t {
	gikev2_kernel_t public;
	linked_list_t *entries;
	/** multicast memberships: "addr" strings we joined */
	linked_list_t *joined;
	int mcast_fd;
	char *save_keys;
	bool encap;
	mutex_t *mutex;
};

static void entry_destroy(entry_t *e)
{
	e->src->destroy(e->src);
	e->dst->destroy(e->dst);
	e->src_ts->destroy(e->src_ts);
	e->dst_ts->destroy(e->dst_ts);
	free(e);
}

/**
 * Wireshark's name of an ESP cipher (esp_sa UAT).
 */
static char *wireshark_encr(uint16_t alg)
{
	switch (alg)
	{
		case ENCR_AES_GCM_ICV16:
			return "AES-GCM with 16 octet ICV [RFC4106]";
		case ENCR_AES_CBC:
			return "AES-CBC [RFC3602]";
		case ENCR_AES_CTR:
			return "AES-CTR [RFC3686]";
		case ENCR_NULL:
			return "NULL";
		default:
			return NULL;
	}
}

static char *wireshark_integ(uint16_t alg)
{
	switch (alg)
	{
		case 0:
		case AUTH_UNDEFINED:
			return "NULL";
		case AUTH_HMAC_SHA1_96:
			return "HMAC-SHA-1-96 [RFC2404]";
		case AUTH_HMAC_SHA2_256_128:
			return "HMAC-SHA-256-128 [RFC4868]";
		case AUTH_HMAC_SHA2_384_192:
			return "HMAC-SHA-384-192 [RFC4868]";
		case AUTH_HMAC_SHA2_512_256:
			return "HMAC-SHA-512-256 [RFC4868]";
		default:
			return NULL;
	}
}

/**
 * Lab only: append the SA's keys in Wireshark's esp_sa format.
 */
static void save_keys(private_gikev2_kernel_t *this,
					  const gikev2_sa_install_t *sa, chunk_t enc_key)
{
	char *encr, *integ;
	host_t *dst;
	FILE *file;
	int fd;

	encr = wireshark_encr(sa->encr_alg);
	integ = wireshark_integ(sa->integ_alg);
	if (!this->save_keys || sa->protocol != PROTO_ESP || !encr || !integ)
	{
		return;
	}
	fd = open(this->save_keys, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd < 0 || !(file = fdopen(fd, "a")))
	{
		DBG1(DBG_CFG, "gikev2: cannot write save_keys file %s: %s",
			 this->save_keys, strerror(errno));
		if (fd >= 0)
		{
			close(fd);
		}
		return;
	}
	dst = gikev2_ts_host(&sa->dst, 0);
	fprintf(file, "\"%s\",\"*\",\"%H\",\"0x%.2x%.2x%.2x%.2x\",\"%s\","
			"\"0x%+B\",\"%s\",\"0x%+B\"\n",
			dst->get_family(dst) == AF_INET ? "IPv4" : "IPv6", dst,
			sa->spi[0], sa->spi[1], sa->spi[2], sa->spi[3], encr, &enc_key,
			integ, &(chunk_t){ (u_char*)sa->integ_key, sa->integ_key_len });
	fclose(file);
	dst->destroy(dst);
	DBG1(DBG_CFG, "gikev2: WARNING: wrote the keys of SPI %.2x%.2x%.2x%.2x "
		 "to %s (save_keys is for labs only)", sa->spi[0], sa->spi[1],
		 sa->spi[2], sa->spi[3], this->save_keys);
}

/**
 * The SA reference of a group SA's policies.
 */
static ipsec_sa_cfg_t policy_sa_cfg(entry_t *e)
{
	ipsec_sa_cfg_t cfg = {
		.mode = e->mode,
		.reqid = e->reqid,
	};

	if (e->protocol == PROTO_AH)
	{
		cfg.ah.use = TRUE;
		cfg.ah.spi = e->spi;
	}
	else
	{
		cfg.esp.use = TRUE;
		cfg.esp.spi = e->spi;
	}
	return cfg;
}

/**
 * Install one direction of an SA and its policy.
 */
static bool install_one(private_gikev2_kernel_t *this,
						const gikev2_sa_install_t *sa, host_t *local,
						bool inbound, chunk_t enc_key)
{
	kernel_ipsec_sa_id_t id;
	kernel_ipsec_add_sa_t add;
	kernel_ipsec_policy_id_t pid;
	kernel_ipsec_manage_policy_t pol;
	ipsec_sa_cfg_t sa_cfg;
	lifetime_cfg_t lifetime = {};
	linked_list_t *src_list, *dst_list;
	uint16_t port = this->encap ? IKEV2_NATT_PORT : 0;
	uint32_t spi, reqid = 0;
	entry_t *entry;
	status_t status;

	INIT(entry,
		.protocol = sa->protocol,
		.inbound = inbound,
		.mode = sa->transport_mode ? MODE_TRANSPORT : MODE_TUNNEL,
		.src_ts = gikev2_ts_to_strongswan(&sa->src),
		.dst_ts = gikev2_ts_to_strongswan(&sa->dst),
		.dst = gikev2_ts_host(&sa->dst, port),
	);
	memcpy(&spi, sa->spi, 4);
	entry->spi = spi;
	if (inbound)
	{	/* any sender of the group; lookups are by (SPI, destination) */
		entry->src = host_create_any(entry->dst->get_family(entry->dst));
		entry->src->set_port(entry->src, port);
	}
	else
	{
		entry->src = local->clone(local);
		entry->src->set_port(entry->src, port);
	}
	if (!entry->src_ts || !entry->dst_ts || !entry->dst)
	{
		DBG1(DBG_CFG, "gikev2: invalid traffic selectors for SPI %.8x",
			 ntohl(spi));
		if (entry->src_ts) entry->src_ts->destroy(entry->src_ts);
		if (entry->dst_ts) entry->dst_ts->destroy(entry->dst_ts);
		DESTROY_IF(entry->dst);
		entry->src->destroy(entry->src);
		free(entry);
		return FALSE;
	}
	src_list = linked_list_create_with_items(entry->src_ts, NULL);
	dst_list = linked_list_create_with_items(entry->dst_ts, NULL);
	if (charon->kernel->alloc_reqid(charon->kernel, src_list, dst_list,
				(mark_t){}, (mark_t){}, 0, 0, NULL, &reqid) != SUCCESS)
	{
		reqid = 0;
	}
	entry->reqid = reqid;
	if (sa->lifetime_secs)
	{
		lifetime.time.life = sa->lifetime_secs;
	}
	id = (kernel_ipsec_sa_id_t){
		.src = entry->src,
		.dst = entry->dst,
		.spi = spi,
		.proto = sa->protocol == PROTO_AH ? IPPROTO_AH : IPPROTO_ESP,
	};
	add = (kernel_ipsec_add_sa_t){
		.reqid = reqid,
		.mode = entry->mode,
		.src_ts = src_list,
		.dst_ts = dst_list,
		.lifetime = &lifetime,
		.enc_alg = sa->protocol == PROTO_AH ? ENCR_UNDEFINED : sa->encr_alg,
		.enc_key = enc_key,
		.int_alg = sa->integ_alg ?: AUTH_UNDEFINED,
		.int_key = chunk_create((u_char*)sa->integ_key, sa->integ_key_len),
		/* several senders share a group SA (RFC 9838 §2.6): no replay
		 * window for them; single-sender SAs keep anti-replay */
		.replay_window = sa->sn == 0 ? 32 : 0,
		.encap = this->encap,
		.inbound = inbound,
		.initiator = !inbound,
	};
	status = charon->kernel->add_sa(charon->kernel, &id, &add);
	src_list->destroy(src_list);
	dst_list->destroy(dst_list);
	if (status != SUCCESS)
	{
		DBG1(DBG_CFG, "gikev2: installing %s SA %.8x failed",
			 inbound ? "inbound" : "outbound", ntohl(spi));
		if (reqid)
		{
			charon->kernel->release_reqid(charon->kernel, reqid, (mark_t){},
										  (mark_t){}, 0, 0, NULL);
		}
		entry_destroy(entry);
		return FALSE;
	}
	sa_cfg = policy_sa_cfg(entry);
	pid = (kernel_ipsec_policy_id_t){
		.dir = inbound ? POLICY_IN : POLICY_OUT,
		.src_ts = entry->src_ts,
		.dst_ts = entry->dst_ts,
	};
	pol = (kernel_ipsec_manage_policy_t){
		.type = POLICY_IPSEC,
		.prio = POLICY_PRIORITY_DEFAULT,
		.src = entry->src,
		.dst = entry->dst,
		.sa = &sa_cfg,
	};
	if (charon->kernel->add_policy(charon->kernel, &pid, &pol) != SUCCESS)
	{
		DBG1(DBG_CFG, "gikev2: installing %s policy for SA %.8x failed",
			 inbound ? "inbound" : "outbound", ntohl(spi));
	}
	this->entries->insert_last(this->entries, entry);
	DBG1(DBG_CFG, "gikev2: installed %s %N SA %.8x %R === %R (%s mode)",
		 inbound ? "inbound" : "outbound", protocol_id_names, sa->protocol,
		 ntohl(spi), entry->src_ts, entry->dst_ts,
		 entry->mode == MODE_TRANSPORT ? "transport" : "tunnel");
	return TRUE;
}

/**
 * Is this direction of an SA installed already? A group SA's SPI names its
 * keys for its whole life (the key server never reuses an SPI), so a
 * re-registration that brings it again needs no kernel work.
 */
static bool installed(private_gikev2_kernel_t *this,
					  const gikev2_sa_install_t *sa, bool inbound)
{
	enumerator_t *enumerator;
	entry_t *e;
	uint32_t spi;
	bool found = FALSE;

	host_t *dst;

	memcpy(&spi, sa->spi, 4);
	dst = gikev2_ts_host(&sa->dst, 0);
	enumerator = this->entries->create_enumerator(this->entries);
	while (enumerator->enumerate(enumerator, &e))
	{
		if (e->protocol == sa->protocol && e->spi == spi &&
			e->inbound == inbound && dst && e->dst->ip_equals(e->dst, dst))
		{
			found = TRUE;
			break;
		}
	}
	enumerator->destroy(enumerator);
	DESTROY_IF(dst);
	return found;
}

METHOD(gikev2_kernel_t, install, bool,
	private_gikev2_kernel_t *this, const gikev2_sa_install_t *sa,
	host_t *local)
{
	chunk_t enc_key;
	bool ok = TRUE, in, out, fresh = FALSE;

	/* charon's kernel interface wants the salt appended to the key */
	enc_key = chunk_cat("cc",
				chunk_create((u_char*)sa->encr_key, sa->encr_key_len),
				chunk_create((u_char*)sa->salt, sa->salt_len));
	in = sa->direction == GIKEV2_DIR_IN || sa->direction == GIKEV2_DIR_BOTH;
	out = sa->direction == GIKEV2_DIR_OUT || sa->direction == GIKEV2_DIR_BOTH;
	this->mutex->lock(this->mutex);
	/* outbound first: kernel-libipsec finds the SA installed last first when
	 * it looks up an inbound packet by (SPI, destination), and both
	 * directions of a group SA share them */
	if (out && !installed(this, sa, FALSE))
	{
		ok = install_one(this, sa, local, FALSE, enc_key) && ok;
		fresh = TRUE;
	}
	if (in && !installed(this, sa, TRUE))
	{
		ok = install_one(this, sa, local, TRUE, enc_key) && ok;
		fresh = TRUE;
	}
	if (fresh)
	{
		save_keys(this, sa, enc_key);
	}
	this->mutex->unlock(this->mutex);
	chunk_clear(&enc_key);
	return ok;
}

static void uninstall(private_gikev2_kernel_t *this, entry_t *e)
{
	kernel_ipsec_sa_id_t id = {
		.src = e->src,
		.dst = e->dst,
		.spi = e->spi,
		.proto = e->protocol == PROTO_AH ? IPPROTO_AH : IPPROTO_ESP,
	};
	kernel_ipsec_del_sa_t del = {};
	ipsec_sa_cfg_t sa_cfg = policy_sa_cfg(e);
	kernel_ipsec_policy_id_t pid = {
		.dir = e->inbound ? POLICY_IN : POLICY_OUT,
		.src_ts = e->src_ts,
		.dst_ts = e->dst_ts,
	};
	kernel_ipsec_manage_policy_t pol = {
		.type = POLICY_IPSEC,
		.prio = POLICY_PRIORITY_DEFAULT,
		.src = e->src,
		.dst = e->dst,
		.sa = &sa_cfg,
	};

	charon->kernel->del_policy(charon->kernel, &pid, &pol);
	charon->kernel->del_sa(charon->kernel, &id, &del);
	if (e->reqid)
	{
		charon->kernel->release_reqid(charon->kernel, e->reqid, (mark_t){},
									  (mark_t){}, 0, 0, NULL);
	}
	DBG1(DBG_CFG, "gikev2: removed %s SA %.8x",
		 e->inbound ? "inbound" : "outbound", ntohl(e->spi));
}

METHOD(gikev2_kernel_t, remove_, bool,
	private_gikev2_kernel_t *this, uint8_t protocol, const uint8_t *spi,
	size_t spi_len)
{
	enumerator_t *enumerator;
	entry_t *e;
	uint32_t value;
	bool found = FALSE;

	if (spi_len != 4)
	{
		return FALSE;
	}
	memcpy(&value, spi, 4);
	this->mutex->lock(this->mutex);
	enumerator = this->entries->create_enumerator(this->entries);
	while (enumerator->enumerate(enumerator, &e))
	{
		if (e->protocol == protocol && e->spi == value)
		{
			this->entries->remove_at(this->entries, enumerator);
			uninstall(this, e);
			entry_destroy(e);
			found = TRUE;
		}
	}
	enumerator->destroy(enumerator);
	this->mutex->unlock(this->mutex);
	return found;
}

METHOD(gikev2_kernel_t, join, void,
	private_gikev2_kernel_t *this, const gikev2_ts_t *group, host_t *local)
{
	struct ip_mreq mreq = {};
	enumerator_t *enumerator;
	host_t *addr;
	char *name, *joined;
	bool done = FALSE;

	if (group->ts_type != TS_IPV4_ADDR_RANGE || group->start_addr[0] < 224 ||
		group->start_addr[0] > 239)
	{	/* unicast destination or IPv6 (not supported yet): nothing to join */
		return;
	}
	addr = gikev2_ts_host(group, 0);
	if (asprintf(&name, "%H", addr) < 0)
	{
		addr->destroy(addr);
		return;
	}
	this->mutex->lock(this->mutex);
	enumerator = this->joined->create_enumerator(this->joined);
	while (enumerator->enumerate(enumerator, &joined))
	{
		done = done || streq(joined, name);
	}
	enumerator->destroy(enumerator);
	if (!done)
	{
		memcpy(&mreq.imr_multiaddr, group->start_addr, 4);
		if (local && local->get_family(local) == AF_INET)
		{
			memcpy(&mreq.imr_interface,
				   local->get_address(local).ptr, 4);
		}
		if (setsockopt(this->mcast_fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq,
					   sizeof(mreq)) < 0)
		{
			DBG1(DBG_CFG, "gikev2: joining multicast group %s failed: %s",
				 name, strerror(errno));
			free(name);
		}
		else
		{
			DBG1(DBG_CFG, "gikev2: joined multicast group %s on %H", name,
				 local);
			this->joined->insert_last(this->joined, name);
		}
	}
	else
	{
		free(name);
	}
	this->mutex->unlock(this->mutex);
	addr->destroy(addr);
}

METHOD(gikev2_kernel_t, count, int,
	private_gikev2_kernel_t *this)
{
	int n;

	this->mutex->lock(this->mutex);
	n = this->entries->get_count(this->entries);
	this->mutex->unlock(this->mutex);
	return n;
}

METHOD(gikev2_kernel_t, destroy, void,
	private_gikev2_kernel_t *this)
{
	entry_t *e;

	while (this->entries->remove_first(this->entries, (void**)&e) == SUCCESS)
	{
		uninstall(this, e);
		entry_destroy(e);
	}
	this->entries->destroy(this->entries);
	this->joined->destroy_function(this->joined, free);
	if (this->mcast_fd >= 0)
	{
		close(this->mcast_fd);
	}
	this->mutex->destroy(this->mutex);
	free(this->save_keys);
	free(this);
}

gikev2_kernel_t *gikev2_kernel_create(char *save_keys, bool encap)
{
	private_gikev2_kernel_t *this;

	INIT(this,
		.public = {
			.install = _install,
			.remove = _remove_,
			.join = _join,
			.count = _count,
			.destroy = _destroy,
		},
		.entries = linked_list_create(),
		.joined = linked_list_create(),
		.mcast_fd = socket(AF_INET, SOCK_DGRAM, 0),
		.save_keys = save_keys ? strdup(save_keys) : NULL,
		.encap = encap,
		.mutex = mutex_create(MUTEX_TYPE_DEFAULT),
	);
	return &this->public;
}
