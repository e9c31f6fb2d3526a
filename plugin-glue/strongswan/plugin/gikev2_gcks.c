/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "gikev2_gcks.h"
#include "gikev2_task.h"

#include <threading/mutex.h>
#include <threading/thread.h>
#include <collections/linked_list.h>
#include <processing/jobs/callback_job.h>

typedef struct private_gikev2_gcks_role_t private_gikev2_gcks_role_t;

struct private_gikev2_gcks_role_t {
	gikev2_gcks_role_t public;
	/** the library's key server; every call under mutex */
	gikev2_gcks_t *gcks;
	mutex_t *mutex;
	/** pending GSA_AUTH requests: pending_t */
	linked_list_t *pending;
	int groups;
};

typedef struct {
	uint32_t ike_sa;
	gikev2_payloads_t payloads;
} pending_t;

static void pending_destroy(pending_t *p)
{
	gikev2_payloads_free(&p->payloads);
	free(p);
}

static char *event_name(gikev2_event_kind_t kind)
{
	switch (kind)
	{
		case GIKEV2_EVENT_MEMBER_JOINED:
			return "joined";
		case GIKEV2_EVENT_MEMBER_REREGISTERED:
			return "registered again to";
		case GIKEV2_EVENT_MEMBER_LEFT:
			return "left";
		case GIKEV2_EVENT_MEMBER_EXCLUDED:
			return "was excluded from";
		default:
			return "event in";
	}
}

/** Data for an inband rekey job. */
typedef struct {
	private_gikev2_gcks_role_t *role;
	char *group;
	uint8_t spi_i[8];
	uint8_t spi_r[8];
} inband_job_t;

static void inband_job_destroy(inband_job_t *job)
{
	free(job->group);
	free(job);
}

/** Handler of the GCKS-initiated GSA_INBAND_REKEY task. */
typedef struct {
	gikev2_task_handler_t public;
	private_gikev2_gcks_role_t *role;
	char *group;
} inband_handler_t;

METHOD(gikev2_task_handler_t, inband_build, bool,
	inband_handler_t *this, ike_sa_t *ike_sa, message_t *message)
{
	gikev2_ike_sa_t ctx;
	gikev2_result_t *result;
	gikev2_status_t status;

	if (!gikev2_ike_sa_context(ike_sa, &ctx))
	{
		return FALSE;
	}
	this->role->mutex->lock(this->role->mutex);
	status = gikev2_gcks_inband_rekey(this->role->gcks, &ctx, this->group,
									  gikev2_now_ms(), &result);
	this->role->mutex->unlock(this->role->mutex);
	if (status != GIKEV2_OK)
	{
		DBG1(DBG_CFG, "gikev2: GSA_INBAND_REKEY for group %s on '%s' "
			 "failed: %s", this->group, ike_sa->get_name(ike_sa),
			 GIKEV2_STATUS(status));
		return FALSE;
	}
	gikev2_payloads_to_message(result, message);
	gikev2_result_free(result);
	DBG1(DBG_CFG, "gikev2: sending GSA_INBAND_REKEY for group %s to %Y",
		 this->group, ike_sa->get_other_id(ike_sa));
	return TRUE;
}

METHOD(gikev2_task_handler_t, inband_process, void,
	inband_handler_t *this, ike_sa_t *ike_sa, message_t *message)
{
	DBG1(DBG_CFG, "gikev2: %Y acknowledged GSA_INBAND_REKEY for group %s",
		 ike_sa->get_other_id(ike_sa), this->group);
}

METHOD(gikev2_task_handler_t, inband_destroy, void,
	inband_handler_t *this)
{
	free(this->group);
	free(this);
}

static job_requeue_t inband_job(inband_job_t *job)
{
	ike_sa_id_t *id;
	ike_sa_t *ike_sa;
	inband_handler_t *handler;
	uint64_t spi_i, spi_r;

	memcpy(&spi_i, job->spi_i, 8);
	memcpy(&spi_r, job->spi_r, 8);
	id = ike_sa_id_create(IKEV2_MAJOR_VERSION, spi_i, spi_r, FALSE);
	ike_sa = charon->ike_sa_manager->checkout(charon->ike_sa_manager, id);
	id->destroy(id);
	if (!ike_sa)
	{
		DBG1(DBG_CFG, "gikev2: member of group %s unreachable for "
			 "GSA_INBAND_REKEY: its IKE SA is gone", job->group);
		return JOB_REQUEUE_NONE;
	}
	INIT(handler,
		.public = {
			.build = _inband_build,
			.process = _inband_process,
			.destroy = _inband_destroy,
		},
		.role = job->role,
		.group = strdup(job->group),
	);
	gikev2_task_start(ike_sa, GIKEV2_XT_GSA_INBAND_REKEY, &handler->public);
	return JOB_REQUEUE_NONE;
}

/**
 * Carry out what a result asks for, except its payloads. Called with the
 * mutex held, so GSA_REKEY datagrams reach charon's send queue in Message ID
 * order.
 */
static void apply_result(private_gikev2_gcks_role_t *this,
						 gikev2_result_t *result)
{
	gikev2_datagram_t datagram;
	gikev2_inband_target_t target;
	gikev2_event_t event;
	inband_job_t *job;
	host_t *src, *dst;
	packet_t *packet;
	size_t i;

	for (i = 0; i < gikev2_result_datagram_count(result); i++)
	{
		if (gikev2_result_datagram(result, i, &datagram) != GIKEV2_OK)
		{
			continue;
		}
		dst = gikev2_ts_host(&datagram.dst, datagram.dst.start_port ?: 500);
		src = gikev2_ts_host(&datagram.src, 0);
		if (src->is_anyaddr(src) || datagram.src.ts_type != datagram.dst.ts_type)
		{
			src->destroy(src);
			src = host_create_any(dst->get_family(dst));
		}
		/* from charon's IKE socket; the sender adds the non-ESP marker
		 * itself unless port 500 is involved */
		src->set_port(src, charon->socket->get_port(charon->socket, FALSE));
		packet = packet_create_from_data(src, dst,
					chunk_clone(chunk_create((u_char*)datagram.data,
											 datagram.len)));
		DBG1(DBG_CFG, "gikev2: sending GSA_REKEY for group %s, message ID "
			 "%u, %zu bytes to %#H", datagram.group, datagram.message_id,
			 datagram.len, dst);
		charon->sender->send(charon->sender, packet);
	}
	for (i = 0; i < gikev2_result_event_count(result); i++)
	{
		if (gikev2_result_event(result, i, &event) != GIKEV2_OK)
		{
			continue;
		}
		if (event.kind == GIKEV2_EVENT_NOT_EXCLUDED)
		{	/* the datagrams above went out; this member stays */
			DBG1(DBG_CFG, "gikev2: member %s was NOT excluded from group %s: "
				 "%s", event.member ?: "-", event.group, event.detail);
		}
		else if (event.kind == GIKEV2_EVENT_TEKS_OWED)
		{
			DBG1(DBG_CFG, "gikev2: group %s: %s", event.group, event.detail);
		}
		else
		{
			/* the library logged the event already */
			if (event.sender_id_count)
			{
				DBG2(DBG_CFG, "gikev2: member %s %s group %s (Sender-IDs "
					 "%u..%u) %s", event.member ?: "-", event_name(event.kind),
					 event.group, event.sender_id_first,
					 event.sender_id_first + event.sender_id_count - 1,
					 event.detail);
			}
			else
			{
				DBG2(DBG_CFG, "gikev2: member %s %s group %s %s",
					 event.member ?: "-", event_name(event.kind), event.group,
					 event.detail);
			}
		}
	}
	for (i = 0; i < gikev2_result_inband_count(result); i++)
	{
		if (gikev2_result_inband(result, i, &target) != GIKEV2_OK)
		{
			continue;
		}
		INIT(job,
			.role = this,
			.group = strdup(target.group),
		);
		memcpy(job->spi_i, target.spi_i, 8);
		memcpy(job->spi_r, target.spi_r, 8);
		lib->processor->queue_job(lib->processor,
			(job_t*)callback_job_create((callback_job_cb_t)inband_job, job,
							(callback_job_cleanup_t)inband_job_destroy, NULL));
	}
}

static pending_t *take_pending(private_gikev2_gcks_role_t *this, uint32_t id)
{
	enumerator_t *enumerator;
	pending_t *p, *found = NULL;

	enumerator = this->pending->create_enumerator(this->pending);
	while (enumerator->enumerate(enumerator, &p))
	{
		if (p->ike_sa == id)
		{
			this->pending->remove_at(this->pending, enumerator);
			found = p;
			break;
		}
	}
	enumerator->destroy(enumerator);
	return found;
}

static bool has_idg(gikev2_payloads_t *payloads)
{
	size_t i;

	for (i = 0; i < payloads->count; i++)
	{
		if (payloads->items[i].type == GIKEV2_PL_IDG)
		{
			return TRUE;
		}
	}
	return FALSE;
}

METHOD(gikev2_gcks_role_t, auth_request, void,
	private_gikev2_gcks_role_t *this, ike_sa_t *ike_sa, message_t *message)
{
	pending_t *p, *old;

	INIT(p,
		.ike_sa = ike_sa->get_unique_id(ike_sa),
	);
	gikev2_payloads_from_message(message, TRUE, &p->payloads);
	this->mutex->lock(this->mutex);
	old = take_pending(this, p->ike_sa);
	if (old && !has_idg(&p->payloads))
	{	/* a later IKE_AUTH round (EAP): the group request came first */
		this->pending->insert_last(this->pending, old);
		old = p;
	}
	else
	{
		this->pending->insert_last(this->pending, p);
	}
	this->mutex->unlock(this->mutex);
	if (old)
	{
		pending_destroy(old);
	}
}

/**
 * Run one registration request through the library and put the answer into
 * the response.
 */
static void handle_registration(private_gikev2_gcks_role_t *this,
								ike_sa_t *ike_sa, uint8_t exchange,
								gikev2_payloads_t *payloads,
								message_t *response)
{
	gikev2_ike_sa_t ctx;
	gikev2_result_t *result;
	gikev2_status_t status;
	notify_type_t notify;

	if (!gikev2_ike_sa_context(ike_sa, &ctx))
	{
		response->add_notify(response, FALSE, NO_PROPOSAL_CHOSEN, chunk_empty);
		return;
	}
	this->mutex->lock(this->mutex);
	status = gikev2_gcks_handle_request(this->gcks, &ctx, exchange,
										payloads->items, payloads->count,
										gikev2_now_ms(), &result);
	if (status == GIKEV2_OK)
	{	/* GSA_REKEY first (backward access control rekeyed the group), and
		 * queued while we hold the key server, so in Message ID order */
		apply_result(this, result);
	}
	this->mutex->unlock(this->mutex);
	if (status != GIKEV2_OK)
	{
		DBG1(DBG_CFG, "gikev2: registration request from %Y rejected: %s",
			 ike_sa->get_other_id(ike_sa), GIKEV2_STATUS(status));
		response->add_notify(response, FALSE, INVALID_SYNTAX, chunk_empty);
		return;
	}
	gikev2_payloads_to_message(result, response);
	notify = gikev2_result_notify(result);
	if (notify)
	{
		DBG1(DBG_CFG, "gikev2: refused %Y with %N", ike_sa->get_other_id(ike_sa),
			 notify_type_names, notify);
	}
	gikev2_result_free(result);
}

METHOD(gikev2_gcks_role_t, auth_response, void,
	private_gikev2_gcks_role_t *this, ike_sa_t *ike_sa, message_t *message)
{
	pending_t *p;

	this->mutex->lock(this->mutex);
	p = take_pending(this, ike_sa->get_unique_id(ike_sa));
	this->mutex->unlock(this->mutex);
	if (!p)
	{
		return;
	}
	if (message->get_payload(message, PLV2_AUTH) &&
		ike_sa->has_condition(ike_sa, COND_AUTHENTICATED))
	{
		handle_registration(this, ike_sa, GIKEV2_XT_GSA_AUTH, &p->payloads,
							message);
	}
	else
	{	/* not authenticated yet (EAP, multiple authentication rounds): keep
		 * the request until the response that completes authentication;
		 * ike_sa_down() forgets it if that never comes */
		this->mutex->lock(this->mutex);
		this->pending->insert_last(this->pending, p);
		this->mutex->unlock(this->mutex);
		return;
	}
	pending_destroy(p);
}

/** Handler of the passive GSA_REGISTRATION task. */
typedef struct {
	gikev2_task_handler_t public;
	private_gikev2_gcks_role_t *role;
	gikev2_payloads_t payloads;
} registration_handler_t;

METHOD(gikev2_task_handler_t, registration_process, void,
	registration_handler_t *this, ike_sa_t *ike_sa, message_t *message)
{
	gikev2_payloads_free(&this->payloads);
	gikev2_payloads_from_message(message, FALSE, &this->payloads);
}

METHOD(gikev2_task_handler_t, registration_build, bool,
	registration_handler_t *this, ike_sa_t *ike_sa, message_t *message)
{
	handle_registration(this->role, ike_sa, GIKEV2_XT_GSA_REGISTRATION,
						&this->payloads, message);
	return TRUE;
}

METHOD(gikev2_task_handler_t, registration_destroy, void,
	registration_handler_t *this)
{
	gikev2_payloads_free(&this->payloads);
	free(this);
}

METHOD(gikev2_gcks_role_t, registration_task, task_t*,
	private_gikev2_gcks_role_t *this, ike_sa_t *ike_sa)
{
	registration_handler_t *handler;

	INIT(handler,
		.public = {
			.build = _registration_build,
			.process = _registration_process,
			.destroy = _registration_destroy,
		},
		.role = this,
	);
	return gikev2_task_create(ike_sa, FALSE, GIKEV2_XT_GSA_REGISTRATION,
							  &handler->public);
}

/**
 * The SPIs of an IKE SA and its IKEv2 fragmentation support in the library's
 * form (only they are used; the new SA inherits the old one's extensions).
 */
static void ike_sa_spis(ike_sa_t *ike_sa, gikev2_ike_sa_t *ctx)
{
	*ctx = (gikev2_ike_sa_t){
		.fragmentation = gikev2_ike_sa_fragmentation(ike_sa),
	};
	gikev2_ike_spis(ike_sa->get_id(ike_sa), ctx->spi_i, ctx->spi_r);
}

METHOD(gikev2_gcks_role_t, ike_sa_rekeyed, void,
	private_gikev2_gcks_role_t *this, ike_sa_t *old, ike_sa_t *new)
{
	gikev2_ike_sa_t from, to;
	size_t moved = 0;

	ike_sa_spis(old, &from);
	ike_sa_spis(new, &to);
	this->mutex->lock(this->mutex);
	gikev2_gcks_ike_sa_rekeyed(this->gcks, &from, &to, &moved);
	this->mutex->unlock(this->mutex);
	if (moved)
	{
		DBG1(DBG_CFG, "gikev2: %zu membership(s) of %Y moved to the rekeyed "
			 "IKE SA '%s'", moved, new->get_other_id(new), new->get_name(new));
	}
}

METHOD(gikev2_gcks_role_t, ike_sa_down, void,
	private_gikev2_gcks_role_t *this, ike_sa_t *ike_sa)
{
	pending_t *p;

	this->mutex->lock(this->mutex);
	p = take_pending(this, ike_sa->get_unique_id(ike_sa));
	this->mutex->unlock(this->mutex);
	if (p)
	{
		pending_destroy(p);
	}
}

METHOD(gikev2_gcks_role_t, tick, void,
	private_gikev2_gcks_role_t *this)
{
	gikev2_result_t *result = NULL;
	uint64_t deadline, now = gikev2_now_ms();

	this->mutex->lock(this->mutex);
	if (gikev2_gcks_next_deadline(this->gcks, &deadline) == GIKEV2_OK &&
		deadline <= now &&
		gikev2_gcks_on_timeout(this->gcks, now, &result) == GIKEV2_OK)
	{
		apply_result(this, result);
		gikev2_result_free(result);
	}
	this->mutex->unlock(this->mutex);
}

/**
 * Run an operator command's result and describe it (mutex held).
 */
static char *command_answer(private_gikev2_gcks_role_t *this,
							gikev2_status_t status, gikev2_result_t *result,
							char *what)
{
	gikev2_event_t event;
	char *answer, undone[512] = "";
	size_t i, pos = 0, not_done = 0;
	int n;

	if (status != GIKEV2_OK)
	{
		if (asprintf(&answer, "error: %s failed: %s\n", what,
					 GIKEV2_STATUS(status)) < 0)
		{
			answer = NULL;
		}
		return answer;
	}
	/* the datagrams go out in any case: the parts that were done changed the
	 * group; what was not done is listed */
	apply_result(this, result);
	for (i = 0; i < gikev2_result_event_count(result); i++)
	{
		if (gikev2_result_event(result, i, &event) != GIKEV2_OK ||
			(event.kind != GIKEV2_EVENT_NOT_EXCLUDED &&
			 event.kind != GIKEV2_EVENT_TEKS_OWED))
		{
			continue;
		}
		if (event.kind == GIKEV2_EVENT_NOT_EXCLUDED)
		{
			not_done++;
		}
		n = snprintf(undone + pos, sizeof(undone) - pos, "; %s%s%s",
					 event.member ?: "", event.member ? ": " : "", event.detail);
		if (n < 0 || (size_t)n >= sizeof(undone) - pos)
		{	/* truncated; the log has every item */
			break;
		}
		pos += n;
	}
	/* "error:" makes gikev2ctl exit non-zero: part of the request was not done */
	if (asprintf(&answer, "%s: %s%s: %zu GSA_REKEY datagram(s) sent, %zu inband "
				 "rekey(s)%s\n", undone[0] ? "error" : "ok", what,
				 not_done ? " partly done" :
					undone[0] ? " done, new group SAs owed (retried every 5 s)" : "",
				 gikev2_result_datagram_count(result),
				 gikev2_result_inband_count(result), undone) < 0)
	{
		answer = NULL;
	}
	gikev2_result_free(result);
	return answer;
}

/** Most members one operator exclusion takes. */
#define MAX_EXCLUDE 10000

METHOD(gikev2_gcks_role_t, exclude, char*,
	private_gikev2_gcks_role_t *this, char *group, char *members)
{
	const char **list;
	gikev2_result_t *result = NULL;
	gikev2_status_t status;
	char *answer, *member, *save = NULL;
	size_t count = 0;

	list = calloc(MAX_EXCLUDE, sizeof(*list));
	if (!list)
	{
		return strdup("error: out of memory\n");
	}
	for (member = strtok_r(members, " \t\r\n", &save); member;
		 member = strtok_r(NULL, " \t\r\n", &save))
	{
		if (count == MAX_EXCLUDE)
		{
			free(list);
			if (asprintf(&answer, "error: more than %d members in one "
						 "exclusion\n", MAX_EXCLUDE) < 0)
			{
				answer = NULL;
			}
			return answer;
		}
		list[count++] = member;
	}
	this->mutex->lock(this->mutex);
	status = gikev2_gcks_exclude(this->gcks, group, list, count,
								 gikev2_now_ms(), &result);
	if (count == 1)
	{
		DBG1(DBG_CFG, "gikev2: operator excluded %s from group %s: %s",
			 list[0], group, GIKEV2_STATUS(status));
	}
	else
	{
		DBG1(DBG_CFG, "gikev2: operator excluded %zu members from group %s: "
			 "%s", count, group, GIKEV2_STATUS(status));
	}
	answer = command_answer(this, status, result, "exclude");
	this->mutex->unlock(this->mutex);
	free(list);
	return answer;
}

METHOD(gikev2_gcks_role_t, rekey, char*,
	private_gikev2_gcks_role_t *this, char *group)
{
	gikev2_result_t *result = NULL;
	gikev2_status_t status;

	char *answer;

	this->mutex->lock(this->mutex);
	status = gikev2_gcks_force_rekey(this->gcks, group, gikev2_now_ms(),
									 &result);
	DBG1(DBG_CFG, "gikev2: operator rekeyed group %s: %s", group,
		 GIKEV2_STATUS(status));
	answer = command_answer(this, status, result, "rekey");
	this->mutex->unlock(this->mutex);
	return answer;
}

METHOD(gikev2_gcks_role_t, status_, char*,
	private_gikev2_gcks_role_t *this)
{
	gikev2_result_t *result;
	char *text = NULL;

	this->mutex->lock(this->mutex);
	if (gikev2_gcks_status(this->gcks, gikev2_now_ms(), &result) == GIKEV2_OK)
	{
		text = strdup(gikev2_result_text(result));
		gikev2_result_free(result);
	}
	this->mutex->unlock(this->mutex);
	return text;
}

/** Most threads the key server may use for one rekey. */
#define MAX_WRAP_THREADS 64

/**
 * One of the library's jobs, on a thread of its own.
 */
typedef struct {
	gikev2_job_fn job;
	void *job_ctx;
	size_t index;
} wrap_job_t;

static void *run_wrap_job(wrap_job_t *j)
{
	j->job(j->job_ctx, j->index);
	return NULL;
}

/**
 * The executor handed to the library (gikev2_gcks_set_executor): job 0 on the
 * calling thread, the others on threads started for this rekey and joined before
 * returning. Large LKH rekeys (batch exclusions) are rare, so a thread pool kept
 * for them would cost more than it saves; a job whose thread cannot be started
 * runs on the calling thread.
 */
static void run_wrap_jobs(void *user, size_t n, gikev2_job_fn job,
						  void *job_ctx)
{
	thread_t *threads[MAX_WRAP_THREADS] = {NULL};
	wrap_job_t jobs[MAX_WRAP_THREADS];
	size_t i;

	for (i = 1; i < n; i++)
	{
		if (i < MAX_WRAP_THREADS)
		{
			jobs[i] = (wrap_job_t){ job, job_ctx, i };
			threads[i] = thread_create((thread_main_t)run_wrap_job, &jobs[i]);
		}
		if (i >= MAX_WRAP_THREADS || !threads[i])
		{
			job(job_ctx, i);
		}
	}
	if (n > 0)
	{
		job(job_ctx, 0);
	}
	for (i = 1; i < n && i < MAX_WRAP_THREADS; i++)
	{
		if (threads[i])
		{
			threads[i]->join(threads[i]);
		}
	}
}

METHOD(gikev2_gcks_role_t, destroy, void,
	private_gikev2_gcks_role_t *this)
{
	this->pending->destroy_function(this->pending, (void*)pending_destroy);
	gikev2_gcks_free(this->gcks);
	this->mutex->destroy(this->mutex);
	free(this);
}

gikev2_gcks_role_t *gikev2_gcks_role_create(void)
{
	private_gikev2_gcks_role_t *this;
	enumerator_t *enumerator;
	gikev2_settings_t settings;
	gikev2_status_t status;
	char *name, section[512];
	int threads;

	INIT(this,
		.public = {
			.auth_request = _auth_request,
			.auth_response = _auth_response,
			.registration_task = _registration_task,
			.ike_sa_rekeyed = _ike_sa_rekeyed,
			.ike_sa_down = _ike_sa_down,
			.tick = _tick,
			.exclude = _exclude,
			.rekey = _rekey,
			.status = _status_,
			.destroy = _destroy,
		},
		.mutex = mutex_create(MUTEX_TYPE_DEFAULT),
		.pending = linked_list_create(),
	);
	if (gikev2_gcks_new(&this->gcks) != GIKEV2_OK)
	{
		destroy(this);
		return NULL;
	}
	threads = lib->settings->get_int(lib->settings,
						"%s.plugins.gikev2.wrap_threads", 1, lib->ns);
	if (threads < 1 || threads > MAX_WRAP_THREADS)
	{
		DBG1(DBG_CFG, "gikev2: wrap_threads: %d is not 1 to %d, using 1",
			 threads, MAX_WRAP_THREADS);
		threads = 1;
	}
	if (threads > 1 &&
		gikev2_gcks_set_executor(this->gcks, run_wrap_jobs, threads,
								 NULL) != GIKEV2_OK)
	{
		DBG1(DBG_CFG, "gikev2: wrap_threads: not applied, using 1");
	}
	enumerator = lib->settings->create_section_enumerator(lib->settings,
									"%s.plugins.gikev2.groups", lib->ns);
	while (enumerator->enumerate(enumerator, &name))
	{
		if (strchr(name, '%'))
		{
			DBG1(DBG_CFG, "gikev2: groups.%s: a name must not contain "
				 "'%%', ignored", name);
			continue;
		}
		snprintf(section, sizeof(section), "%s.plugins.gikev2.groups.%s",
				 lib->ns, name);
		gikev2_settings_collect(section, &settings);
		status = gikev2_gcks_add_group(this->gcks, name, settings.items,
									   settings.count, gikev2_now_ms());
		gikev2_settings_free(&settings);
		if (status == GIKEV2_OK)
		{
			DBG1(DBG_CFG, "gikev2: key server for group '%s' loaded", name);
			this->groups++;
		}
		else
		{
			DBG1(DBG_CFG, "gikev2: group '%s' not loaded (%s), see the line "
				 "above", name, GIKEV2_STATUS(status));
		}
	}
	enumerator->destroy(enumerator);
	if (!this->groups)
	{
		destroy(this);
		return NULL;
	}
	return &this->public;
}
