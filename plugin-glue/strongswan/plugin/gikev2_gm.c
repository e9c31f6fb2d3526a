/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "gikev2_gm.h"
#include "gikev2_task.h"

#include <threading/mutex.h>
#include <collections/linked_list.h>
#include <processing/jobs/callback_job.h>
#include <encoding/payloads/notify_payload.h>

typedef struct private_gikev2_gm_role_t private_gikev2_gm_role_t;

/** A configured membership. */
typedef struct {
	char *name;
	char *connection;
	gikev2_membership_t *membership;
} membership_t;

/** The member's side of one registration IKE SA. */
typedef struct {
	uint32_t ike_sa;
	char *connection;
	gikev2_gm_t *gm;
	host_t *local;
	/** membership joined in GSA_AUTH */
	membership_t *auth_membership;
	/** the key server's identity the member object was created with: type
	 * octet | encoding (the configured one, maybe %any, until authenticated) */
	chunk_t peer;
	/** group SAs installed through this registration: protocol | SPI (5 octets) */
	linked_list_t *installed;
	/** GSA_AUTH response payloads, until the key server is authenticated */
	gikev2_payloads_t response;
	bool have_response;
} entry_t;

struct private_gikev2_gm_role_t {
	gikev2_gm_role_t public;
	gikev2_kernel_t *kernel;
	/** membership_t, in configuration order */
	linked_list_t *memberships;
	/** entry_t */
	linked_list_t *entries;
	/** every library call and list access under it */
	mutex_t *mutex;
	/** GSA_REKEY datagrams waiting for a job */
	refcount_t queued;
};

static void entry_destroy(entry_t *e)
{
	e->installed->destroy_function(e->installed, free);
	chunk_free(&e->peer);
	gikev2_gm_free(e->gm);
	DESTROY_IF(e->local);
	gikev2_payloads_free(&e->response);
	free(e->connection);
	free(e);
}

/** Does entry `e` hold the group SA protocol | SPI (5 octets)? */
static bool has_sa(entry_t *e, uint8_t *sa)
{
	enumerator_t *enumerator;
	uint8_t *cur;
	bool found = FALSE;

	enumerator = e->installed->create_enumerator(e->installed);
	while (enumerator->enumerate(enumerator, &cur))
	{
		if (memeq(cur, sa, 5))
		{
			found = TRUE;
			break;
		}
	}
	enumerator->destroy(enumerator);
	return found;
}

/** Remember (add) or forget (remove) a group SA of entry `e`. */
static void track_sa(entry_t *e, uint8_t protocol, const uint8_t *spi, bool add)
{
	enumerator_t *enumerator;
	uint8_t sa[5], *cur;

	sa[0] = protocol;
	memcpy(sa + 1, spi, 4);
	if (add)
	{
		if (!has_sa(e, sa))
		{
			e->installed->insert_last(e->installed, chunk_clone(chunk_from_thing(sa)).ptr);
		}
		return;
	}
	enumerator = e->installed->create_enumerator(e->installed);
	while (enumerator->enumerate(enumerator, &cur))
	{
		if (memeq(cur, sa, 5))
		{
			e->installed->remove_at(e->installed, enumerator);
			free(cur);
		}
	}
	enumerator->destroy(enumerator);
}

static entry_t *find_entry(private_gikev2_gm_role_t *this, uint32_t id)
{
	enumerator_t *enumerator;
	entry_t *e, *found = NULL;

	enumerator = this->entries->create_enumerator(this->entries);
	while (enumerator->enumerate(enumerator, &e))
	{
		if (e->ike_sa == id)
		{
			found = e;
			break;
		}
	}
	enumerator->destroy(enumerator);
	return found;
}

static char *connection_name(ike_sa_t *ike_sa)
{
	peer_cfg_t *peer_cfg = ike_sa->get_peer_cfg(ike_sa);

	return peer_cfg ? peer_cfg->get_name(peer_cfg) : NULL;
}

/** The first membership of a connection (joined in GSA_AUTH). */
static membership_t *first_membership(private_gikev2_gm_role_t *this,
									  char *connection)
{
	enumerator_t *enumerator;
	membership_t *m, *found = NULL;

	if (!connection)
	{
		return NULL;
	}
	enumerator = this->memberships->create_enumerator(this->memberships);
	while (enumerator->enumerate(enumerator, &m))
	{
		if (streq(m->connection, connection))
		{
			found = m;
			break;
		}
	}
	enumerator->destroy(enumerator);
	return found;
}

METHOD(gikev2_gm_role_t, is_group_connection, bool,
	private_gikev2_gm_role_t *this, ike_sa_t *ike_sa)
{
	return first_membership(this, connection_name(ike_sa)) != NULL;
}

static void queue_registration(private_gikev2_gm_role_t *this,
							   uint32_t ike_sa, membership_t *m, bool leave);

/**
 * INVALID_GROUP_ID, AUTHORIZATION_FAILED, REGISTRATION_FAILED (RFC 9838 §4.7).
 */
static bool is_group_refusal(uint16_t type)
{
	return type == 45 || type == 46 || type == 49;
}

static char *outcome_name(gikev2_outcome_t outcome)
{
	switch (outcome)
	{
		case GIKEV2_OUTCOME_REGISTERED:
			return "registered";
		case GIKEV2_OUTCOME_LEFT:
			return "left";
		case GIKEV2_OUTCOME_REFUSED:
			return "refused";
		case GIKEV2_OUTCOME_MUST_LEAVE:
			return "must leave";
		default:
			return "none";
	}
}

/**
 * Carry out a result: installs, removals, listens, events. Called with the
 * mutex held.
 *
 * @param what			for the log ("registration", "rekey", ...)
 */
static void apply_result(private_gikev2_gm_role_t *this, entry_t *e,
						 gikev2_result_t *result, char *what)
{
	gikev2_sa_install_t install;
	gikev2_sa_removal_t removal;
	gikev2_rekey_listen_t listen;
	gikev2_event_t event;
	uint64_t now = gikev2_now_ms();
	size_t i, installed = 0, removed = 0;

	for (i = 0; i < gikev2_result_removal_count(result); i++)
	{
		if (gikev2_result_removal(result, i, &removal) != GIKEV2_OK)
		{
			continue;
		}
		if (removal.at_ms > now)
		{
			DBG1(DBG_CFG, "gikev2: SA %N %.2x%.2x%.2x%.2x of group %s will "
				 "be removed in %llu ms (DTD)", protocol_id_names,
				 removal.protocol, removal.spi[0], removal.spi[1],
				 removal.spi[2], removal.spi[3], removal.group,
				 (unsigned long long)(removal.at_ms - now));
			continue;
		}
		if (removal.protocol == GIKEV2_PROTO_GIKE_UPDATE)
		{
			DBG1(DBG_CFG, "gikev2: Rekey SA of group %s retired",
				 removal.group);
			continue;
		}
		if (this->kernel->remove(this->kernel, removal.protocol, removal.spi,
								 removal.spi_len))
		{
			removed++;
		}
		if (removal.spi_len == 4)
		{
			track_sa(e, removal.protocol, removal.spi, FALSE);
		}
	}
	for (i = 0; i < gikev2_result_install_count(result); i++)
	{
		if (gikev2_result_install(result, i, &install) != GIKEV2_OK)
		{
			continue;
		}
		/* a re-registration may bring an SA we hold already: it stays */
		if (install.direction != GIKEV2_DIR_OUT)
		{
			this->kernel->join(this->kernel, &install.dst, e->local);
		}
		if (this->kernel->install(this->kernel, &install, e->local))
		{
			installed++;
		}
		track_sa(e, install.protocol, install.spi, TRUE);
		DBG2(DBG_CFG, "gikev2: group %s SA %N SPI %.2x%.2x%.2x%.2x "
			 "direction %s", install.group, protocol_id_names,
			 install.protocol, install.spi[0], install.spi[1],
			 install.spi[2], install.spi[3],
			 install.direction == GIKEV2_DIR_IN ? "in" :
			 install.direction == GIKEV2_DIR_OUT ? "out" : "in+out");
	}
	for (i = 0; i < gikev2_result_listen_count(result); i++)
	{
		if (gikev2_result_listen(result, i, &listen) == GIKEV2_OK)
		{
			host_t *dst = gikev2_ts_host(&listen.dst, listen.dst.start_port);

			this->kernel->join(this->kernel, &listen.dst, e->local);
			DBG2(DBG_CFG, "gikev2: group %s Rekey SA %.8x%.8x... listening "
				 "on %#H", listen.group,
				 untoh32(listen.spi), untoh32(listen.spi + 4), dst);
			dst->destroy(dst);
		}
	}
	for (i = 0; i < gikev2_result_event_count(result); i++)
	{
		if (gikev2_result_event(result, i, &event) != GIKEV2_OK)
		{
			continue;
		}
		if (event.kind == GIKEV2_EVENT_MEMBER_EXCLUDED)
		{
			DBG1(DBG_CFG, "gikev2: excluded from group %s: %s", event.group,
				 event.detail);
		}
		else if (event.kind == GIKEV2_EVENT_REREGISTER)
		{
			DBG1(DBG_CFG, "gikev2: group %s: %s", event.group, event.detail);
		}
		else
		{	/* the library logged it already */
			DBG2(DBG_CFG, "gikev2: group %s: %s", event.group, event.detail);
		}
	}
	if (installed || removed || gikev2_result_outcome(result))
	{
		DBG2(DBG_CFG, "gikev2: %s: %s, %zu SA(s) installed, %zu removed",
			 what, outcome_name(gikev2_result_outcome(result)), installed,
			 removed);
	}
}

/**
 * Handle a registration outcome (GSA_AUTH or GSA_REGISTRATION response).
 */
static bool registration_done(private_gikev2_gm_role_t *this, entry_t *e,
							  membership_t *m, gikev2_payloads_t *payloads)
{
	gikev2_result_t *result;
	gikev2_status_t status;
	gikev2_outcome_t outcome;

	status = gikev2_gm_process_response(e->gm, m->membership, payloads->items,
										payloads->count, gikev2_now_ms(),
										&result);
	if (status != GIKEV2_OK)
	{
		DBG1(DBG_CFG, "gikev2: response for membership %s dropped: %s",
			 m->name, GIKEV2_STATUS(status));
		return FALSE;
	}
	outcome = gikev2_result_outcome(result);
	switch (outcome)
	{
		case GIKEV2_OUTCOME_REGISTERED:
			DBG1(DBG_CFG, "gikev2: registered to group of membership %s "
				 "(%zu SA(s) to install)", m->name,
				 gikev2_result_install_count(result));
			break;
		case GIKEV2_OUTCOME_REFUSED:
			DBG1(DBG_CFG, "gikev2: registration of membership %s refused "
				 "by the key server: %N", m->name, notify_type_names,
				 gikev2_result_notify(result));
			break;
		case GIKEV2_OUTCOME_MUST_LEAVE:
			DBG1(DBG_CFG, "gikev2: membership %s: group policy not "
				 "acceptable, leaving (%N)", m->name, notify_type_names,
				 gikev2_result_notify(result));
			queue_registration(this, e->ike_sa, m, TRUE);
			break;
		case GIKEV2_OUTCOME_LEFT:
			DBG1(DBG_CFG, "gikev2: left group of membership %s", m->name);
			break;
		default:
			break;
	}
	apply_result(this, e, result, "registration");
	gikev2_result_free(result);
	return outcome == GIKEV2_OUTCOME_REGISTERED;
}

/**
 * The registration on entry `e` succeeded: earlier registrations of the same
 * connection are replaced. Their group SAs that the new registration did not
 * bring (e.g. SAs replaced by a rekey meanwhile) leave the kernel.
 */
static void replace_earlier(private_gikev2_gm_role_t *this, entry_t *e)
{
	enumerator_t *enumerator, *spis;
	entry_t *old;
	uint8_t *sa;

	enumerator = this->entries->create_enumerator(this->entries);
	while (enumerator->enumerate(enumerator, &old))
	{
		if (old == e || !streq(old->connection, e->connection))
		{
			continue;
		}
		this->entries->remove_at(this->entries, enumerator);
		spis = old->installed->create_enumerator(old->installed);
		while (spis->enumerate(spis, &sa))
		{
			if (!has_sa(e, sa))
			{
				this->kernel->remove(this->kernel, sa[0], sa + 1, 4);
			}
		}
		spis->destroy(spis);
		entry_destroy(old);
	}
	enumerator->destroy(enumerator);
}

METHOD(gikev2_gm_role_t, auth_request, void,
	private_gikev2_gm_role_t *this, ike_sa_t *ike_sa, message_t *message)
{
	gikev2_ike_sa_t ctx;
	gikev2_result_t *result;
	membership_t *m;
	entry_t *e;
	char *connection = connection_name(ike_sa);

	m = first_membership(this, connection);
	if (!m || !gikev2_ike_sa_context(ike_sa, &ctx))
	{
		return;
	}
	this->mutex->lock(this->mutex);
	if (find_entry(this, ike_sa->get_unique_id(ike_sa)))
	{	/* a later IKE_AUTH round (EAP) */
		this->mutex->unlock(this->mutex);
		return;
	}
	/* an earlier registration of this connection keeps following GSA_REKEY
	 * until this one succeeds (ike_sa_up replaces it then) */
	INIT(e,
		.ike_sa = ike_sa->get_unique_id(ike_sa),
		.connection = strdup(connection),
		.local = ike_sa->get_my_host(ike_sa)->clone(ike_sa->get_my_host(ike_sa)),
		.installed = linked_list_create(),
		.peer = chunk_cat("cc", chunk_from_thing(ctx.peer_id_type),
						  chunk_create((u_char*)ctx.peer_id, ctx.peer_id_len)),
		.auth_membership = m,
	);
	if (gikev2_gm_new(&ctx, &e->gm) != GIKEV2_OK ||
		gikev2_gm_join(e->gm, m->membership, &result) != GIKEV2_OK)
	{
		DBG1(DBG_CFG, "gikev2: cannot build GSA_AUTH for membership %s",
			 m->name);
		entry_destroy(e);
		this->mutex->unlock(this->mutex);
		return;
	}
	gikev2_payloads_to_message(result, message);
	gikev2_result_free(result);
	this->entries->insert_last(this->entries, e);
	this->mutex->unlock(this->mutex);
	DBG2(DBG_CFG, "gikev2: joining group of membership %s in GSA_AUTH",
		 m->name);
}

/**
 * Does a GSA_AUTH response carry the group's answer (GSA, KD or a refusal)?
 */
static bool group_answer(gikev2_payloads_t *payloads)
{
	size_t i;

	for (i = 0; i < payloads->count; i++)
	{
		gikev2_payload_t *p = &payloads->items[i];

		if (p->type == GIKEV2_PL_GSA || p->type == GIKEV2_PL_KD ||
			(p->type == PLV2_NOTIFY && p->body_len >= 4 &&
			 is_group_refusal((p->body[2] << 8) | p->body[3])))
		{
			return TRUE;
		}
	}
	return FALSE;
}

/**
 * Take the key server's group-level refusals (RFC 9838 §4.7) out of a
 * GSA_AUTH response: the IKE SA is established all the same (§2.3.1), while
 * charon's IKE_AUTH handling would take any unknown error notify as fatal.
 */
static void remove_group_refusals(message_t *message)
{
	enumerator_t *enumerator;
	payload_t *payload;
	notify_payload_t *notify;

	enumerator = message->create_payload_enumerator(message);
	while (enumerator->enumerate(enumerator, &payload))
	{
		if (payload->get_type(payload) == PLV2_NOTIFY)
		{
			notify = (notify_payload_t*)payload;
			if (is_group_refusal(notify->get_notify_type(notify)))
			{
				message->remove_payload_at(message, enumerator);
				payload->destroy(payload);
			}
		}
	}
	enumerator->destroy(enumerator);
}

METHOD(gikev2_gm_role_t, auth_response, void,
	private_gikev2_gm_role_t *this, ike_sa_t *ike_sa, message_t *message)
{
	gikev2_payloads_t payloads;
	entry_t *e;

	gikev2_payloads_from_message(message, FALSE, &payloads);
	this->mutex->lock(this->mutex);
	e = find_entry(this, ike_sa->get_unique_id(ike_sa));
	/* with EAP, only the last IKE_AUTH response carries the group's answer */
	if (e && group_answer(&payloads))
	{
		gikev2_payloads_free(&e->response);
		e->response = payloads;
		e->have_response = TRUE;
		payloads = (gikev2_payloads_t){};
	}
	this->mutex->unlock(this->mutex);
	gikev2_payloads_free(&payloads);
	remove_group_refusals(message);
}

/** The key server is authenticated: the registration's processing, copied
 * out of charon's bus (listener hooks run under the bus lock). */
typedef struct {
	private_gikev2_gm_role_t *role;
	uint32_t ike_sa;
	gikev2_ike_sa_t ctx;
	chunk_t sk_d;
	chunk_t peer;
} up_job_t;

static void up_job_destroy(up_job_t *job)
{
	chunk_clear(&job->sk_d);
	chunk_free(&job->peer);
	free(job);
}

static job_requeue_t up_job(up_job_t *job)
{
	private_gikev2_gm_role_t *this = job->role;
	enumerator_t *enumerator;
	membership_t *m;
	entry_t *e;

	this->mutex->lock(this->mutex);
	e = find_entry(this, job->ike_sa);
	if (!e || !e->have_response)
	{
		this->mutex->unlock(this->mutex);
		return JOB_REQUEUE_NONE;
	}
	/* the key server's identity is known now; tell the member object only if
	 * it differs from the configured one (same SK_d: GSK_w is unchanged, and
	 * deriving it again costs an OpenSSL HMAC set-up) */
	if (e->peer.len != 1 + job->ctx.peer_id_len ||
		e->peer.ptr[0] != job->ctx.peer_id_type ||
		!memeq(e->peer.ptr + 1, job->ctx.peer_id, job->ctx.peer_id_len))
	{
		gikev2_gm_update_ike_sa(e->gm, &job->ctx);
	}
	if (registration_done(this, e, e->auth_membership, &e->response))
	{
		replace_earlier(this, e);
	}
	gikev2_payloads_free(&e->response);
	e->have_response = FALSE;

	/* further groups of this connection: GSA_REGISTRATION */
	enumerator = this->memberships->create_enumerator(this->memberships);
	while (enumerator->enumerate(enumerator, &m))
	{
		if (m != e->auth_membership && streq(m->connection, e->connection))
		{
			queue_registration(this, e->ike_sa, m, FALSE);
		}
	}
	enumerator->destroy(enumerator);
	this->mutex->unlock(this->mutex);
	return JOB_REQUEUE_NONE;
}

METHOD(gikev2_gm_role_t, ike_sa_up, void,
	private_gikev2_gm_role_t *this, ike_sa_t *ike_sa)
{
	gikev2_ike_sa_t ctx;
	up_job_t *job;

	if (!gikev2_ike_sa_context(ike_sa, &ctx))
	{
		return;
	}
	INIT(job,
		.role = this,
		.ike_sa = ike_sa->get_unique_id(ike_sa),
		.ctx = ctx,
		.sk_d = chunk_clone(chunk_create((u_char*)ctx.sk_d, ctx.sk_d_len)),
		.peer = chunk_clone(chunk_create((u_char*)ctx.peer_id,
										 ctx.peer_id_len)),
	);
	/* the copies outlive the IKE SA's keymat */
	job->ctx.sk_d = job->sk_d.ptr;
	job->ctx.peer_id = job->peer.ptr;
	lib->processor->queue_job(lib->processor,
			(job_t*)callback_job_create((callback_job_cb_t)up_job, job,
							(callback_job_cleanup_t)up_job_destroy, NULL));
}

METHOD(gikev2_gm_role_t, ike_sa_rekeyed, void,
	private_gikev2_gm_role_t *this, ike_sa_t *old, ike_sa_t *new)
{
	gikev2_ike_sa_t ctx;
	entry_t *e;

	this->mutex->lock(this->mutex);
	e = find_entry(this, old->get_unique_id(old));
	if (e)
	{
		e->ike_sa = new->get_unique_id(new);
		if (gikev2_ike_sa_context(new, &ctx) &&
			gikev2_gm_update_ike_sa(e->gm, &ctx) == GIKEV2_OK)
		{
			DBG1(DBG_CFG, "gikev2: registration of connection %s follows the "
				 "rekeyed IKE SA (new GSK_w)", e->connection);
		}
		else
		{
			DBG1(DBG_CFG, "gikev2: rekeyed IKE SA of connection %s has no "
				 "usable keys for the group protocol", e->connection);
		}
	}
	this->mutex->unlock(this->mutex);
}

/** Handler of the member-initiated GSA_REGISTRATION task. */
typedef struct {
	gikev2_task_handler_t public;
	private_gikev2_gm_role_t *role;
	membership_t *membership;
	bool leave;
} registration_handler_t;

METHOD(gikev2_task_handler_t, registration_build, bool,
	registration_handler_t *this, ike_sa_t *ike_sa, message_t *message)
{
	private_gikev2_gm_role_t *role = this->role;
	gikev2_result_t *result;
	gikev2_status_t status;
	entry_t *e;

	role->mutex->lock(role->mutex);
	e = find_entry(role, ike_sa->get_unique_id(ike_sa));
	if (!e)
	{
		role->mutex->unlock(role->mutex);
		return FALSE;
	}
	if (this->leave)
	{
		status = gikev2_gm_leave(e->gm, this->membership->membership, &result);
	}
	else
	{
		status = gikev2_gm_join(e->gm, this->membership->membership, &result);
	}
	role->mutex->unlock(role->mutex);
	if (status != GIKEV2_OK)
	{
		DBG1(DBG_CFG, "gikev2: cannot build GSA_REGISTRATION for membership "
			 "%s: %s", this->membership->name, GIKEV2_STATUS(status));
		return FALSE;
	}
	gikev2_payloads_to_message(result, message);
	gikev2_result_free(result);
	DBG1(DBG_CFG, "gikev2: %s group of membership %s in GSA_REGISTRATION",
		 this->leave ? "leaving" : "joining", this->membership->name);
	return TRUE;
}

METHOD(gikev2_task_handler_t, registration_process, void,
	registration_handler_t *this, ike_sa_t *ike_sa, message_t *message)
{
	private_gikev2_gm_role_t *role = this->role;
	gikev2_payloads_t payloads;
	entry_t *e;

	gikev2_payloads_from_message(message, FALSE, &payloads);
	role->mutex->lock(role->mutex);
	e = find_entry(role, ike_sa->get_unique_id(ike_sa));
	if (e)
	{
		registration_done(role, e, this->membership, &payloads);
	}
	role->mutex->unlock(role->mutex);
	gikev2_payloads_free(&payloads);
}

METHOD(gikev2_task_handler_t, registration_destroy, void,
	registration_handler_t *this)
{
	free(this);
}

/** Job data: start a GSA_REGISTRATION on an IKE SA. */
typedef struct {
	private_gikev2_gm_role_t *role;
	uint32_t ike_sa;
	membership_t *membership;
	bool leave;
} registration_job_t;

static job_requeue_t registration_job(registration_job_t *job)
{
	registration_handler_t *handler;
	ike_sa_t *ike_sa;

	ike_sa = charon->ike_sa_manager->checkout_by_id(charon->ike_sa_manager,
													job->ike_sa);
	if (!ike_sa)
	{
		peer_cfg_t *peer_cfg;

		if (job->leave)
		{	/* nothing to leave over: the key server forgets us by itself */
			return JOB_REQUEUE_NONE;
		}
		/* the registration IKE SA is gone (DPD, key server restart): register
		 * again over a new one (GSA_AUTH, then GSA_REGISTRATION for the
		 * connection's further groups) */
		peer_cfg = charon->backends->get_peer_cfg_by_name(charon->backends,
												job->membership->connection);
		if (!peer_cfg)
		{
			DBG1(DBG_CFG, "gikev2: membership %s: connection %s not found, "
				 "cannot register again", job->membership->name,
				 job->membership->connection);
			return JOB_REQUEUE_NONE;
		}
		DBG1(DBG_CFG, "gikev2: membership %s: IKE SA gone, registering again "
			 "with a new GSA_AUTH on connection %s", job->membership->name,
			 job->membership->connection);
		charon->controller->initiate(charon->controller, peer_cfg, NULL, NULL,
									 NULL, 0, FALSE);
		return JOB_REQUEUE_NONE;
	}
	INIT(handler,
		.public = {
			.build = _registration_build,
			.process = _registration_process,
			.destroy = _registration_destroy,
		},
		.role = job->role,
		.membership = job->membership,
		.leave = job->leave,
	);
	gikev2_task_start(ike_sa, GIKEV2_XT_GSA_REGISTRATION, &handler->public);
	return JOB_REQUEUE_NONE;
}

static void queue_registration(private_gikev2_gm_role_t *this,
							   uint32_t ike_sa, membership_t *m, bool leave)
{
	registration_job_t *job;

	INIT(job,
		.role = this,
		.ike_sa = ike_sa,
		.membership = m,
		.leave = leave,
	);
	lib->processor->queue_job(lib->processor,
			(job_t*)callback_job_create((callback_job_cb_t)registration_job,
										job, free, NULL));
}

/** A GSA_REKEY datagram copied out of charon's receive path. */
typedef struct {
	private_gikev2_gm_role_t *role;
	chunk_t data;
	uint8_t spis[16];
	uint32_t message_id;
	host_t *source;
} rekey_job_t;

static void rekey_job_release(rekey_job_t *job)
{
	ignore_result(ref_put(&job->role->queued));
	chunk_free(&job->data);
	DESTROY_IF(job->source);
	free(job);
}

/**
 * Process one GSA_REKEY datagram (RFC 9838 §2.4.1.4), outside charon's bus
 * (listener hooks run under the bus lock, which serialises every thread).
 */
static job_requeue_t rekey_job(rekey_job_t *job)
{
	private_gikev2_gm_role_t *this = job->role;
	enumerator_t *enumerator;
	gikev2_result_t *result;
	gikev2_status_t status = GIKEV2_ERR_NOT_FOUND;
	entry_t *e;
	bool owns;

	this->mutex->lock(this->mutex);
	enumerator = this->entries->create_enumerator(this->entries);
	while (enumerator->enumerate(enumerator, &e))
	{
		if (gikev2_gm_owns_rekey_spi(e->gm, job->spis, sizeof(job->spis),
									 &owns) != GIKEV2_OK || !owns)
		{
			continue;
		}
		status = gikev2_gm_process_rekey(e->gm, job->data.ptr, job->data.len,
										 gikev2_now_ms(), &result);
		if (status == GIKEV2_OK)
		{
			DBG1(DBG_CFG, "gikev2: rekey: GSA_REKEY message ID %u from %H "
				 "accepted", job->message_id, job->source);
			apply_result(this, e, result, "rekey");
			gikev2_result_free(result);
		}
		break;
	}
	enumerator->destroy(enumerator);
	this->mutex->unlock(this->mutex);

	if (status == GIKEV2_ERR_INCOMPLETE)
	{
		DBG2(DBG_CFG, "gikev2: GSA_REKEY fragment from %H kept", job->source);
	}
	else if (status != GIKEV2_OK)
	{
		DBG1(DBG_CFG, "gikev2: dropped GSA_REKEY (message ID %u, %zu bytes) "
			 "from %H: %s", job->message_id, job->data.len, job->source,
			 GIKEV2_STATUS(status));
	}
	return JOB_REQUEUE_NONE;
}

/** Datagrams waiting for a rekey job; more are dropped (a flood must not
 * queue unbounded work). */
#define MAX_QUEUED_REKEYS 64

METHOD(gikev2_gm_role_t, rekey_datagram, void,
	private_gikev2_gm_role_t *this, message_t *message)
{
	rekey_job_t *job;

	if (message->get_exchange_type(message) != GIKEV2_XT_GSA_REKEY)
	{
		return;
	}
	if (ref_cur(&this->queued) >= MAX_QUEUED_REKEYS)
	{
		DBG1(DBG_CFG, "gikev2: dropped GSA_REKEY from %H: %d datagrams "
			 "queued already", message->get_source(message),
			 MAX_QUEUED_REKEYS);
		return;
	}
	INIT(job,
		.role = this,
		.data = chunk_clone(message->get_packet_data(message)),
		.message_id = message->get_message_id(message),
		.source = message->get_source(message)->clone(
											message->get_source(message)),
	);
	gikev2_ike_spis(message->get_ike_sa_id(message), job->spis,
					job->spis + 8);
	ref_get(&this->queued);
	lib->processor->queue_job(lib->processor,
			(job_t*)callback_job_create((callback_job_cb_t)rekey_job, job,
							(callback_job_cleanup_t)rekey_job_release, NULL));
}

/** Handler of the passive GSA_INBAND_REKEY task. */
typedef struct {
	gikev2_task_handler_t public;
	private_gikev2_gm_role_t *role;
} inband_handler_t;

METHOD(gikev2_task_handler_t, inband_process, void,
	inband_handler_t *this, ike_sa_t *ike_sa, message_t *message)
{
	private_gikev2_gm_role_t *role = this->role;
	gikev2_payloads_t payloads;
	gikev2_result_t *result;
	gikev2_status_t status = GIKEV2_ERR_NOT_FOUND;
	entry_t *e;

	gikev2_payloads_from_message(message, FALSE, &payloads);
	role->mutex->lock(role->mutex);
	e = find_entry(role, ike_sa->get_unique_id(ike_sa));
	if (e)
	{
		status = gikev2_gm_process_inband_rekey(e->gm, payloads.items,
									payloads.count, gikev2_now_ms(), &result);
		if (status == GIKEV2_OK)
		{
			DBG1(DBG_CFG, "gikev2: inband rekey from %Y accepted",
				 ike_sa->get_other_id(ike_sa));
			apply_result(role, e, result, "inband rekey");
			gikev2_result_free(result);
		}
	}
	role->mutex->unlock(role->mutex);
	gikev2_payloads_free(&payloads);
	if (status != GIKEV2_OK)
	{
		DBG1(DBG_CFG, "gikev2: dropped GSA_INBAND_REKEY from %Y: %s",
			 ike_sa->get_other_id(ike_sa), GIKEV2_STATUS(status));
	}
}

METHOD(gikev2_task_handler_t, inband_build, bool,
	inband_handler_t *this, ike_sa_t *ike_sa, message_t *message)
{	/* the acknowledgement is empty (RFC 9838 §2.4.2) */
	return TRUE;
}

METHOD(gikev2_task_handler_t, inband_destroy, void,
	inband_handler_t *this)
{
	free(this);
}

METHOD(gikev2_gm_role_t, inband_task, task_t*,
	private_gikev2_gm_role_t *this, ike_sa_t *ike_sa)
{
	inband_handler_t *handler;

	INIT(handler,
		.public = {
			.build = _inband_build,
			.process = _inband_process,
			.destroy = _inband_destroy,
		},
		.role = this,
	);
	return gikev2_task_create(ike_sa, FALSE, GIKEV2_XT_GSA_INBAND_REKEY,
							  &handler->public);
}

/**
 * The membership of this entry's connection whose group is `group` (the
 * group ID text results use).
 */
static membership_t *membership_for_group(private_gikev2_gm_role_t *this,
										  entry_t *e, const char *group)
{
	enumerator_t *enumerator;
	membership_t *m, *found = NULL;

	enumerator = this->memberships->create_enumerator(this->memberships);
	while (enumerator->enumerate(enumerator, &m))
	{
		if (streq(m->connection, e->connection) && group &&
			streq(gikev2_membership_group(m->membership), group))
		{
			found = m;
			break;
		}
	}
	enumerator->destroy(enumerator);
	return found;
}

METHOD(gikev2_gm_role_t, tick, void,
	private_gikev2_gm_role_t *this)
{
	enumerator_t *enumerator;
	gikev2_result_t *result;
	gikev2_event_t event;
	membership_t *m;
	uint64_t deadline, now = gikev2_now_ms();
	size_t i;
	entry_t *e;

	this->mutex->lock(this->mutex);
	enumerator = this->entries->create_enumerator(this->entries);
	while (enumerator->enumerate(enumerator, &e))
	{
		if (gikev2_gm_next_deadline(e->gm, &deadline) != GIKEV2_OK ||
			deadline > now ||
			gikev2_gm_on_timeout(e->gm, now, &result) != GIKEV2_OK)
		{
			continue;
		}
		apply_result(this, e, result, "timer");
		for (i = 0; i < gikev2_result_event_count(result); i++)
		{
			if (gikev2_result_event(result, i, &event) == GIKEV2_OK &&
				event.kind == GIKEV2_EVENT_REREGISTER)
			{
				m = membership_for_group(this, e, event.group);
				if (m)
				{
					DBG1(DBG_CFG, "gikev2: registering again to group %s",
						 event.group);
					queue_registration(this, e->ike_sa, m, FALSE);
				}
			}
		}
		gikev2_result_free(result);
	}
	enumerator->destroy(enumerator);
	this->mutex->unlock(this->mutex);
}

METHOD(gikev2_gm_role_t, status_, char*,
	private_gikev2_gm_role_t *this)
{
	enumerator_t *enumerator;
	gikev2_result_t *result;
	char *text = strdup(""), *more;
	entry_t *e;

	this->mutex->lock(this->mutex);
	enumerator = this->entries->create_enumerator(this->entries);
	while (enumerator->enumerate(enumerator, &e))
	{
		if (gikev2_gm_status(e->gm, gikev2_now_ms(), &result) == GIKEV2_OK)
		{
			if (asprintf(&more, "%sconnection %s (IKE SA #%u):\n%s", text,
						 e->connection, e->ike_sa,
						 gikev2_result_text(result)) > 0)
			{
				free(text);
				text = more;
			}
			gikev2_result_free(result);
		}
	}
	enumerator->destroy(enumerator);
	if (asprintf(&more, "%s%d group SA(s) installed\n", text,
				 this->kernel->count(this->kernel)) > 0)
	{
		free(text);
		text = more;
	}
	this->mutex->unlock(this->mutex);
	return text;
}

static void membership_destroy(membership_t *m)
{
	gikev2_membership_free(m->membership);
	free(m->name);
	free(m->connection);
	free(m);
}

METHOD(gikev2_gm_role_t, destroy, void,
	private_gikev2_gm_role_t *this)
{
	this->entries->destroy_function(this->entries, (void*)entry_destroy);
	this->memberships->destroy_function(this->memberships,
										(void*)membership_destroy);
	this->mutex->destroy(this->mutex);
	free(this);
}

gikev2_gm_role_t *gikev2_gm_role_create(gikev2_kernel_t *kernel)
{
	private_gikev2_gm_role_t *this;
	enumerator_t *enumerator;
	gikev2_settings_t settings;
	gikev2_membership_t *membership;
	gikev2_status_t status;
	membership_t *m;
	char *name, *connection, section[512];
	size_t i;

	INIT(this,
		.public = {
			.is_group_connection = _is_group_connection,
			.auth_request = _auth_request,
			.auth_response = _auth_response,
			.ike_sa_up = _ike_sa_up,
			.ike_sa_rekeyed = _ike_sa_rekeyed,
			.rekey_datagram = _rekey_datagram,
			.inband_task = _inband_task,
			.tick = _tick,
			.status = _status_,
			.destroy = _destroy,
		},
		.kernel = kernel,
		.memberships = linked_list_create(),
		.entries = linked_list_create(),
		.mutex = mutex_create(MUTEX_TYPE_DEFAULT),
	);
	enumerator = lib->settings->create_section_enumerator(lib->settings,
									"%s.plugins.gikev2.memberships", lib->ns);
	while (enumerator->enumerate(enumerator, &name))
	{
		if (strchr(name, '%'))
		{
			DBG1(DBG_CFG, "gikev2: memberships.%s: a name must not contain "
				 "'%%', ignored", name);
			continue;
		}
		snprintf(section, sizeof(section), "%s.plugins.gikev2.memberships.%s",
				 lib->ns, name);
		connection = lib->settings->get_str(lib->settings,
						"%s.plugins.gikev2.memberships.%s.connection", NULL,
						lib->ns, name);
		if (!connection)
		{
			DBG1(DBG_CFG, "gikev2: memberships.%s.connection: missing (the "
				 "swanctl.conf connection that registers); membership not "
				 "loaded", name);
			continue;
		}
		/* "connection" is the plugin's; the rest goes to the library */
		gikev2_settings_collect(section, &settings);
		for (i = 0; i < settings.count; i++)
		{
			if (streq(settings.items[i].key, "connection"))
			{
				free((char*)settings.items[i].key);
				free((char*)settings.items[i].value);
				settings.items[i] = settings.items[--settings.count];
				break;
			}
		}
		status = gikev2_membership_new(name, settings.items, settings.count,
									   &membership);
		gikev2_settings_free(&settings);
		if (status != GIKEV2_OK)
		{
			DBG1(DBG_CFG, "gikev2: membership '%s' not loaded (%s), see the "
				 "line above", name, GIKEV2_STATUS(status));
			continue;
		}
		INIT(m,
			.name = strdup(name),
			.connection = strdup(connection),
			.membership = membership,
		);
		this->memberships->insert_last(this->memberships, m);
		DBG1(DBG_CFG, "gikev2: membership '%s' loaded (connection %s)", name,
			 connection);
	}
	enumerator->destroy(enumerator);
	if (!this->memberships->get_count(this->memberships))
	{
		destroy(this);
		return NULL;
	}
	return &this->public;
}
