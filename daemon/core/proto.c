/* proto.c - runner-protocol message helpers (see proto.h). */
#include "proto.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cJSON *proto_new(const char *type)
{
	cJSON *m = cJSON_CreateObject();

	if (!m)
		return NULL;
	if (!cJSON_AddNumberToObject(m, "v", PROTO_VERSION) ||
	    !cJSON_AddStringToObject(m, "t", type)) {
		cJSON_Delete(m);
		return NULL;
	}
	return m;
}

static int send_text(transport *t, const cJSON *msg, char *buf)
{
	size_t len = strlen(buf);
	int rc;

	if (len > (size_t)PROTO_MSG_MAX) {
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "t");

		log_err("proto: a '%s' message of %zu bytes is over the %ld-byte bound: not sent",
			cJSON_IsString(type) ? type->valuestring : "?", len, PROTO_MSG_MAX);
		rc = -EMSGSIZE;
	} else {
		rc = transport_send(t, buf, len);
	}
	cJSON_free(buf);
	return rc;
}

int proto_send(transport *t, cJSON *msg)
{
	char *buf;
	int rc;

	if (!msg)
		return -ENOMEM;
	buf = cJSON_PrintUnformatted(msg);
	rc = buf ? send_text(t, msg, buf) : -ENOMEM;
	cJSON_Delete(msg);
	return rc;
}

int proto_send_shed(transport *t, cJSON *msg, const char *shed, size_t *nshed)
{
	char *buf;
	int rc;

	*nshed = 0;
	if (!msg)
		return -ENOMEM;
	buf = cJSON_PrintUnformatted(msg);
	if (buf && strlen(buf) > (size_t)PROTO_MSG_MAX && cJSON_HasObjectItem(msg, shed)) {
		cJSON_free(buf);
		*nshed = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(msg, shed));
		cJSON_DeleteItemFromObjectCaseSensitive(msg, shed);
		buf = cJSON_PrintUnformatted(msg);
	}
	rc = buf ? send_text(t, msg, buf) : -ENOMEM;
	cJSON_Delete(msg);
	return rc;
}

cJSON *proto_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	cJSON *m = cJSON_ParseWithLength(buf, len);
	const cJSON *v, *t;

	if (!m) {
		snprintf(err, errlen, "message is not JSON");
		return NULL;
	}
	if (!cJSON_IsObject(m)) {
		snprintf(err, errlen, "message is not a JSON object");
		goto fail;
	}
	v = cJSON_GetObjectItemCaseSensitive(m, "v");
	if (!cJSON_IsNumber(v) || v->valueint != PROTO_VERSION) {
		snprintf(err, errlen, "message speaks protocol version %d, not %d",
			 cJSON_IsNumber(v) ? v->valueint : 0, PROTO_VERSION);
		goto fail;
	}
	t = cJSON_GetObjectItemCaseSensitive(m, "t");
	if (!cJSON_IsString(t)) {
		snprintf(err, errlen, "message has no type");
		goto fail;
	}
	return m;
fail:
	cJSON_Delete(m);
	return NULL;
}

int proto_u64(const cJSON *item, uint64_t *out)
{
	const double two_pow_64 = 18446744073709551616.0;
	double d;
	uint64_t u;

	if (!cJSON_IsNumber(item))
		return -EINVAL;
	d = item->valuedouble;
	if (!(d >= 0) || d > two_pow_64)
		return -EINVAL;
	if (d == two_pow_64) {
		*out = UINT64_MAX;
		return 0;
	}
	u = (uint64_t)d;
	if ((double)u != d) /* a fraction */
		return -EINVAL;
	*out = u;
	return 0;
}

const char *proto_type(const cJSON *msg)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(msg, "t");

	return cJSON_IsString(t) ? t->valuestring : "";
}

long proto_instances_max(void)
{
	static long max;

	if (!max) {
		const char *env = getenv("MITE_INSTANCES_PER_RUNNER");
		char *end;
		long v;

		max = PROTO_INSTANCES_MAX;
		if (env && *env) {
			errno = 0;
			v = strtol(env, &end, 10);
			if (!errno && !*end && v > 0 && v < max)
				max = v;
		}
	}
	return max;
}
