/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "gikev2_common.h"

#include <time.h>
#include <encoding/generator.h>
#include <encoding/payloads/unknown_payload.h>
#include <encoding/payloads/notify_payload.h>
#include <sa/ikev2/keymat_v2.h>

uint64_t gikev2_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * Append one payload body (copied) to the list.
 */
static void push_payload(gikev2_payloads_t *out, size_t *cap, uint8_t type,
						 bool critical, chunk_t body)
{
	if (out->count == *cap)
	{
		*cap = *cap ? *cap * 2 : 8;
		out->items = realloc(out->items, *cap * sizeof(gikev2_payload_t));
		out->owned = realloc(out->owned, *cap * sizeof(chunk_t));
	}
	out->owned[out->count] = chunk_clone(body);
	out->items[out->count] = (gikev2_payload_t){
		.type = type,
		.critical = critical,
		.body = out->owned[out->count].ptr,
		.body_len = out->owned[out->count].len,
	};
	out->count++;
}

/**
 * Re-encode a payload charon parsed into its own class, without the generic
 * header.
 */
static chunk_t encode_body(payload_t *payload)
{
	generator_t *generator;
	uint32_t *lenpos;
	chunk_t encoded, body = chunk_empty;

	generator = generator_create_no_dbg();
	generator->generate_payload(generator, payload);
	encoded = generator->get_chunk(generator, &lenpos);
	if (encoded.len >= 4)
	{
		body = chunk_clone(chunk_skip(encoded, 4));
	}
	generator->destroy(generator);
	return body;
}

void gikev2_payloads_from_message(message_t *message, bool remove_sa,
								  gikev2_payloads_t *out)
{
	enumerator_t *enumerator;
	payload_t *payload;
	size_t cap = 0;
	chunk_t body;

	*out = (gikev2_payloads_t){};
	enumerator = message->create_payload_enumerator(message);
	while (enumerator->enumerate(enumerator, &payload))
	{
		payload_type_t type = payload->get_type(payload);

		switch ((int)type)
		{
			case GIKEV2_PL_IDG:
			case GIKEV2_PL_GSA:
			case GIKEV2_PL_KD:
			{	/* typed generic payloads (libcharon patch 0001) */
				unknown_payload_t *unknown = (unknown_payload_t*)payload;

				push_payload(out, &cap, type, unknown->is_critical(unknown),
							 unknown->get_data(unknown));
				break;
			}
			case PLV2_SECURITY_ASSOCIATION:
			case PLV2_NOTIFY:
			case PLV2_DELETE:
				body = encode_body(payload);
				push_payload(out, &cap, type, FALSE, body);
				chunk_free(&body);
				if (type == PLV2_SECURITY_ASSOCIATION && remove_sa)
				{
					message->remove_payload_at(message, enumerator);
					payload->destroy(payload);
				}
				break;
			default:
				break;
		}
	}
	enumerator->destroy(enumerator);
}

void gikev2_payloads_free(gikev2_payloads_t *payloads)
{
	size_t i;

	for (i = 0; i < payloads->count; i++)
	{
		chunk_clear(&payloads->owned[i]);
	}
	free(payloads->items);
	free(payloads->owned);
	*payloads = (gikev2_payloads_t){};
}

/*
 * Described in header
 */
bool gikev2_ike_sa_fragmentation(ike_sa_t *ike_sa)
{
	ike_cfg_t *ike_cfg = ike_sa->get_ike_cfg(ike_sa);

	/* charon marks the extension when the peer's notify arrives; a responder
	 * with fragmentation = no never answered with its own */
	return ike_cfg && ike_cfg->fragmentation(ike_cfg) != FRAGMENTATION_NO &&
		   ike_sa->supports_extension(ike_sa, EXT_IKE_FRAGMENTATION);
}

/**
 * Build a notify payload from its body (RFC 7296 §3.10).
 */
static payload_t *notify_from_body(gikev2_payload_t *p)
{
	notify_payload_t *notify;
	uint8_t protocol, spi_size;
	uint16_t type;

	if (p->body_len < 4)
	{
		return NULL;
	}
	protocol = p->body[0];
	spi_size = p->body[1];
	type = (p->body[2] << 8) | p->body[3];
	if (p->body_len < 4 + (size_t)spi_size)
	{
		return NULL;
	}
	notify = notify_payload_create_from_protocol_and_type(PLV2_NOTIFY,
												protocol, type);
	if (spi_size)
	{
		notify->set_spi_data(notify,
							 chunk_create((u_char*)p->body + 4, spi_size));
	}
	notify->set_notification_data(notify,
						chunk_create((u_char*)p->body + 4 + spi_size,
									 p->body_len - 4 - spi_size));
	return &notify->payload_interface;
}

void gikev2_payloads_to_message(const gikev2_result_t *result,
								message_t *message)
{
	gikev2_payload_t p;
	payload_t *payload;
	size_t i, count;

	count = gikev2_result_payload_count(result);
	for (i = 0; i < count; i++)
	{
		if (gikev2_result_payload(result, i, &p) != GIKEV2_OK)
		{
			continue;
		}
		if (p.type == PLV2_NOTIFY)
		{
			payload = notify_from_body(&p);
		}
		else
		{
			payload = (payload_t*)unknown_payload_create_typed_data(p.type,
						p.critical, chunk_clone(chunk_create((u_char*)p.body,
															 p.body_len)));
		}
		if (payload)
		{
			message->add_payload(message, payload);
		}
	}
}

bool gikev2_ike_sa_context(ike_sa_t *ike_sa, gikev2_ike_sa_t *ctx)
{
	keymat_t *keymat;
	keymat_v2_t *keymat_v2;
	ike_sa_id_t *id;
	proposal_t *proposal;
	identification_t *other;
	pseudo_random_function_t prf;
	uint16_t kwa = 0;
	chunk_t skd, encoding;

	keymat = ike_sa->get_keymat(ike_sa);
	if (!keymat || keymat->get_version(keymat) != IKEV2)
	{
		return FALSE;
	}
	keymat_v2 = (keymat_v2_t*)keymat;
	prf = keymat_v2->get_skd(keymat_v2, &skd);
	proposal = ike_sa->get_proposal(ike_sa);
	if (!proposal || !proposal->get_algorithm(proposal, GIKEV2_TRANSFORM_KWA,
											  &kwa, NULL) || !kwa)
	{
		DBG1(DBG_CFG, "gikev2: no Key Wrap Algorithm negotiated in "
			 "IKE_SA_INIT on '%s' (add e.g. kw5649_256 to its proposals, "
			 "RFC 9838 §2.1)", ike_sa->get_name(ike_sa));
		return FALSE;
	}
	id = ike_sa->get_id(ike_sa);
	other = ike_sa->get_other_id(ike_sa);
	encoding = other->get_encoding(other);

	*ctx = (gikev2_ike_sa_t){
		.prf = prf,
		.kwa = kwa,
		.sk_d = skd.ptr,
		.sk_d_len = skd.len,
		.peer_id_type = other->get_type(other),
		.peer_id = encoding.ptr,
		.peer_id_len = encoding.len,
		/* both sent IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383): the key server
		 * fragments GSA_REKEY only if every member's IKE SA has it */
		.fragmentation = gikev2_ike_sa_fragmentation(ike_sa),
	};
	gikev2_ike_spis(id, ctx->spi_i, ctx->spi_r);
	return TRUE;
}

void gikev2_ike_spis(ike_sa_id_t *id, uint8_t *spi_i, uint8_t *spi_r)
{
	uint64_t spi;

	spi = id->get_initiator_spi(id);
	memcpy(spi_i, &spi, 8);
	spi = id->get_responder_spi(id);
	memcpy(spi_r, &spi, 8);
}

traffic_selector_t *gikev2_ts_to_strongswan(const gikev2_ts_t *ts)
{
	size_t len = ts->ts_type == TS_IPV4_ADDR_RANGE ? 4 : 16;

	return traffic_selector_create_from_bytes(ts->ip_proto, ts->ts_type,
				chunk_create((u_char*)ts->start_addr, len), ts->start_port,
				chunk_create((u_char*)ts->end_addr, len), ts->end_port);
}

host_t *gikev2_ts_host(const gikev2_ts_t *ts, uint16_t port)
{
	int family = ts->ts_type == TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6;
	size_t len = family == AF_INET ? 4 : 16;

	return host_create_from_chunk(family,
						chunk_create((u_char*)ts->start_addr, len), port);
}

static void settings_push(gikev2_settings_t *out, char *key, char *value)
{
	if (out->count == out->capacity)
	{
		out->capacity = out->capacity ? out->capacity * 2 : 16;
		out->items = realloc(out->items,
							 out->capacity * sizeof(gikev2_setting_t));
	}
	out->items[out->count++] = (gikev2_setting_t){
		.key = key,
		.value = strdup(value ?: ""),
	};
}

static void settings_collect(const char *section, const char *prefix,
							 gikev2_settings_t *out, int depth)
{
	enumerator_t *enumerator;
	char *key, *value, *name, *sub, *subprefix;

	if (depth > 8)
	{
		return;
	}
	/* the path is the format itself: libstrongswan does not find sections
	 * through a bare "%s" format (names with '%' are refused when loading) */
	enumerator = lib->settings->create_key_value_enumerator(lib->settings,
															(char*)section);
	while (enumerator->enumerate(enumerator, &key, &value))
	{
		if (asprintf(&name, "%s%s", prefix, key) > 0)
		{
			settings_push(out, name, value);
		}
	}
	enumerator->destroy(enumerator);

	enumerator = lib->settings->create_section_enumerator(lib->settings,
														  (char*)section);
	while (enumerator->enumerate(enumerator, &name))
	{
		if (strchr(name, '%'))
		{
			DBG1(DBG_CFG, "gikev2: section name '%s' contains '%%', ignored",
				 name);
			continue;
		}
		if (asprintf(&sub, "%s.%s", section, name) > 0)
		{
			if (asprintf(&subprefix, "%s%s.", prefix, name) > 0)
			{
				settings_collect(sub, subprefix, out, depth + 1);
				free(subprefix);
			}
			free(sub);
		}
	}
	enumerator->destroy(enumerator);
}

void gikev2_settings_collect(const char *section, gikev2_settings_t *out)
{
	*out = (gikev2_settings_t){};
	settings_collect(section, "", out, 0);
}

void gikev2_settings_free(gikev2_settings_t *settings)
{
	size_t i;

	for (i = 0; i < settings->count; i++)
	{
		free((char*)settings->items[i].key);
		free((char*)settings->items[i].value);
	}
	free(settings->items);
	*settings = (gikev2_settings_t){};
}
