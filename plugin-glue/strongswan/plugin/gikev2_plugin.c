/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "gikev2_plugin.h"
#include "gikev2_common.h"
#include "gikev2_gcks.h"
#include "gikev2_gm.h"
#include "gikev2_kernel.h"
#include "gikev2_control.h"

#include <daemon.h>
#include <bus/listeners/listener.h>
#include <sa/ikev2/task_manager_v2.h>
#include <processing/jobs/callback_job.h>

typedef struct private_gikev2_plugin_t private_gikev2_plugin_t;

struct private_gikev2_plugin_t {
	gikev2_plugin_t public;
	listener_t listener;
	gikev2_kernel_t *kernel;
	gikev2_gcks_role_t *gcks;
	gikev2_gm_role_t *gm;
	gikev2_control_t *control;
	/** timer tick interval */
	u_int tick_ms;
	/** the tick job's state, freed by the job */
	struct tick_t *tick;
};

/** State of the timer job, shared by the plugin and the job (the scheduler
 * may discard the job before the plugin is unloaded, or the other way round):
 * whoever drops the last reference frees it. */
typedef struct tick_t {
	private_gikev2_plugin_t *plugin;
	bool running;
	refcount_t refs;
} tick_t;

static void tick_release(tick_t *tick)
{
	if (ref_put(&tick->refs))
	{
		free(tick);
	}
}

static void log_line(void *user, gikev2_log_level_t level, const char *line)
{
	switch (level)
	{
		case GIKEV2_LOG_ERROR:
		case GIKEV2_LOG_WARN:
		case GIKEV2_LOG_INFO:
			DBG1(DBG_CFG, "gikev2: %s", line);
			break;
		case GIKEV2_LOG_DEBUG:
			DBG2(DBG_CFG, "gikev2: %s", line);
			break;
		default:
			DBG3(DBG_CFG, "gikev2: %s", line);
			break;
	}
}

#define THIS_FROM_LISTENER(l) ((private_gikev2_plugin_t*)((char*)(l) - \
						offsetof(private_gikev2_plugin_t, listener)))

METHOD(listener_t, message_hook, bool,
	listener_t *listener, ike_sa_t *ike_sa, message_t *message,
	bool incoming, bool plain)
{
	private_gikev2_plugin_t *this = THIS_FROM_LISTENER(listener);
	exchange_type_t type = message->get_exchange_type(message);
	bool request = message->get_request(message);

	if (!plain || !ike_sa)
	{
		return TRUE;
	}
	if (!incoming && type == IKE_SA_INIT && request && this->gm &&
		this->gm->is_group_connection(this->gm, ike_sa))
	{	/* this IKE SA registers to a group: its IKE_AUTH is GSA_AUTH */
		ike_sa->set_condition(ike_sa, COND_GSA_AUTH, TRUE);
		return TRUE;
	}
	if (type != IKE_AUTH || !ike_sa->has_condition(ike_sa, COND_GSA_AUTH))
	{
		return TRUE;
	}
	if (incoming)
	{
		if (request && this->gcks)
		{
			this->gcks->auth_request(this->gcks, ike_sa, message);
		}
		else if (!request && this->gm)
		{
			this->gm->auth_response(this->gm, ike_sa, message);
		}
	}
	else
	{
		if (request && this->gm)
		{
			this->gm->auth_request(this->gm, ike_sa, message);
		}
		else if (!request && this->gcks)
		{
			this->gcks->auth_response(this->gcks, ike_sa, message);
		}
	}
	return TRUE;
}

METHOD(listener_t, alert_hook, bool,
	listener_t *listener, ike_sa_t *ike_sa, alert_t alert, va_list args)
{
	private_gikev2_plugin_t *this = THIS_FROM_LISTENER(listener);
	message_t *message;

	if (alert == ALERT_INVALID_IKE_SPI && this->gm)
	{	/* GSA_REKEY datagrams belong to no IKE SA (RFC 9838 §2.4.1) */
		message = va_arg(args, message_t*);
		this->gm->rekey_datagram(this->gm, message);
	}
	return TRUE;
}

METHOD(listener_t, ike_updown_hook, bool,
	listener_t *listener, ike_sa_t *ike_sa, bool up)
{
	private_gikev2_plugin_t *this = THIS_FROM_LISTENER(listener);

	if (up && this->gm && ike_sa->has_condition(ike_sa, COND_GSA_AUTH))
	{
		this->gm->ike_sa_up(this->gm, ike_sa);
	}
	if (!up && this->gcks)
	{
		this->gcks->ike_sa_down(this->gcks, ike_sa);
	}
	return TRUE;
}

METHOD(listener_t, ike_rekey_hook, bool,
	listener_t *listener, ike_sa_t *old, ike_sa_t *new)
{
	private_gikev2_plugin_t *this = THIS_FROM_LISTENER(listener);

	if (this->gm)
	{
		this->gm->ike_sa_rekeyed(this->gm, old, new);
	}
	if (this->gcks)
	{
		this->gcks->ike_sa_rekeyed(this->gcks, old, new);
	}
	return TRUE;
}

static task_t *registration_constructor(ike_sa_t *ike_sa, message_t *request,
										void *data)
{
	private_gikev2_plugin_t *this = data;

	if (!this->gcks || !ike_sa->has_condition(ike_sa, COND_GSA_AUTH))
	{	/* only an IKE SA that registered with GSA_AUTH may register to
		 * further groups; anything else gets an empty response */
		DBG1(DBG_CFG, "gikev2: GSA_REGISTRATION on IKE SA '%s' that did not "
			 "start with GSA_AUTH, ignored", ike_sa->get_name(ike_sa));
		return NULL;
	}
	return this->gcks->registration_task(this->gcks, ike_sa);
}

static task_t *inband_constructor(ike_sa_t *ike_sa, message_t *request,
								  void *data)
{
	private_gikev2_plugin_t *this = data;

	return this->gm ? this->gm->inband_task(this->gm, ike_sa) : NULL;
}

static job_requeue_t tick_job(tick_t *tick)
{
	private_gikev2_plugin_t *this = tick->plugin;

	if (!tick->running)
	{
		return JOB_REQUEUE_NONE;
	}
	if (this->gcks)
	{
		this->gcks->tick(this->gcks);
	}
	if (this->gm)
	{
		this->gm->tick(this->gm);
	}
	return JOB_RESCHEDULE_MS(this->tick_ms);
}

/**
 * Operator commands arriving on the control socket.
 */
static char *command(void *data, char *verb, char *group, char *args)
{
	private_gikev2_plugin_t *this = data;
	char *gcks = NULL, *gm = NULL, *answer;

	if (streq(verb, "list"))
	{
		if (this->gcks)
		{
			gcks = this->gcks->status(this->gcks);
		}
		if (this->gm)
		{
			gm = this->gm->status(this->gm);
		}
		if (asprintf(&answer, "%s%s%s%s",
					 gcks ? "key server:\n" : "", gcks ?: "",
					 gm ? "group member:\n" : "", gm ?: "") < 0)
		{
			answer = NULL;
		}
		free(gcks);
		free(gm);
		return answer;
	}
	if (!this->gcks)
	{
		return strdup("error: this host is no key server (no groups "
					  "configured)\n");
	}
	if (streq(verb, "exclude") && group && args)
	{
		return this->gcks->exclude(this->gcks, group, args);
	}
	if (streq(verb, "rekey") && group)
	{
		return this->gcks->rekey(this->gcks, group);
	}
	return strdup("error: usage: list | exclude GROUP MEMBER... | rekey GROUP\n");
}

static bool register_listener(private_gikev2_plugin_t *this,
							  plugin_feature_t *feature, bool reg, void *data)
{
	char *save_keys, *uri;
	int level;

	if (reg)
	{
		level = lib->settings->get_int(lib->settings,
						"%s.plugins.gikev2.loglevel", GIKEV2_LOG_INFO, lib->ns);
		if (level < GIKEV2_LOG_ERROR || level > GIKEV2_LOG_TRACE)
		{
			DBG1(DBG_CFG, "gikev2: loglevel: %d is not 1 (error) to 5 "
				 "(trace), using 3 (info)", level);
			level = GIKEV2_LOG_INFO;
		}
		if (this->tick_ms < 10)
		{
			DBG1(DBG_CFG, "gikev2: tick_ms: %u is below 10, using 250",
				 this->tick_ms);
			this->tick_ms = 250;
		}
		gikev2_set_logger(log_line, NULL, level);
		save_keys = lib->settings->get_str(lib->settings,
						"%s.plugins.gikev2.save_keys", NULL, lib->ns);
		if (save_keys)
		{
			DBG1(DBG_CFG, "gikev2: WARNING: save_keys is set: group keys are "
				 "written to %s (labs only, never in production)", save_keys);
		}
		this->kernel = gikev2_kernel_create(save_keys,
						lib->settings->get_bool(lib->settings,
						"%s.plugins.gikev2.encap", TRUE, lib->ns));
		this->gcks = gikev2_gcks_role_create();
		this->gm = gikev2_gm_role_create(this->kernel);
		if (this->gcks)
		{
			task_manager_v2_register_exchange(GSA_REGISTRATION,
											  registration_constructor, this);
		}
		if (this->gm)
		{
			task_manager_v2_register_exchange(GSA_INBAND_REKEY,
											  inband_constructor, this);
		}
		uri = lib->settings->get_str(lib->settings,
						"%s.plugins.gikev2.control",
						"unix://" IPSEC_PIDDIR "/charon-gikev2.ctl", lib->ns);
		this->control = gikev2_control_create(uri, command, this);
		charon->bus->add_listener(charon->bus, &this->listener);
		INIT(this->tick,
			.plugin = this,
			.running = TRUE,
			.refs = 2,
		);
		lib->scheduler->schedule_job_ms(lib->scheduler, (job_t*)
					callback_job_create((callback_job_cb_t)tick_job, this->tick,
							(callback_job_cleanup_t)tick_release, NULL),
					this->tick_ms);
		DBG1(DBG_CFG, "gikev2: %s%s%s (library %s)",
			 this->gcks ? "key server" : "",
			 this->gcks && this->gm ? " and " : "",
			 this->gm ? "group member" : (this->gcks ? "" : "idle: no groups "
			 "or memberships configured"), gikev2_version());
	}
	else
	{
		if (this->tick)
		{	/* the job ends when it runs next, unless discarded already */
			this->tick->running = FALSE;
			tick_release(this->tick);
			this->tick = NULL;
		}
		charon->bus->remove_listener(charon->bus, &this->listener);
		task_manager_v2_unregister_exchange(GSA_REGISTRATION);
		task_manager_v2_unregister_exchange(GSA_INBAND_REKEY);
		DESTROY_IF(this->control);
		DESTROY_IF(this->gcks);
		DESTROY_IF(this->gm);
		DESTROY_IF(this->kernel);
		this->control = NULL;
		this->gcks = NULL;
		this->gm = NULL;
		this->kernel = NULL;
		gikev2_set_logger(NULL, NULL, GIKEV2_LOG_ERROR);
	}
	return TRUE;
}

METHOD(plugin_t, get_name, char*,
	private_gikev2_plugin_t *this)
{
	return "gikev2";
}

METHOD(plugin_t, get_features, int,
	private_gikev2_plugin_t *this, plugin_feature_t *features[])
{
	static plugin_feature_t f[] = {
		PLUGIN_CALLBACK((plugin_feature_callback_t)register_listener, NULL),
			PLUGIN_PROVIDE(CUSTOM, "gikev2"),
				PLUGIN_SDEPEND(CUSTOM, "kernel-ipsec"),
	};
	*features = f;
	return countof(f);
}

METHOD(plugin_t, destroy, void,
	private_gikev2_plugin_t *this)
{
	free(this);
}

/*
 * See header
 */
plugin_t *gikev2_plugin_create()
{
	private_gikev2_plugin_t *this;

	INIT(this,
		.public = {
			.plugin = {
				.get_name = _get_name,
				.get_features = _get_features,
				.destroy = _destroy,
			},
		},
		.listener = {
			.message = _message_hook,
			.alert = _alert_hook,
			.ike_updown = _ike_updown_hook,
			.ike_rekey = _ike_rekey_hook,
		},
		.tick_ms = lib->settings->get_int(lib->settings,
						"%s.plugins.gikev2.tick_ms", 250, lib->ns),
	);
	return &this->public.plugin;
}
