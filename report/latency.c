/* latency.c - the durations each socket contributes, see latency.h. */
#include "latency.h"
#include "names.h"

const char *const lat_metric_json[LAT_STATE0] = { "connect_established", "connect_failed",
						   "accept_queue_wait", "lifetime" };
const char *const lat_metric_text[LAT_STATE0] = {
	"connect latency (TCP, UNIX stream), established",
	"connect latency (TCP, UNIX stream), failed",
	"accept-queue wait (established -> accept() returned)",
	"socket lifetime (allocation -> release)",
};

int latency_account(struct vals *v, const struct msock *s)
{
	uint64_t ns;
	int ok, err, rc = 0;
	if (names_is_conn(s->family, s->type, s->protocol) && msock_connect_latency(s, &ns, &ok, &err))
		rc |= vals_add(&v[ok ? LAT_CONN_OK : LAT_CONN_FAIL], ns);
	if (s->accept_ts && s->accept_estab_ts && s->accept_ts >= s->accept_estab_ts)
		rc |= vals_add(&v[LAT_ACCEPT], s->accept_ts - s->accept_estab_ts);
	if (s->released && s->alloc_ts && s->release_ts >= s->alloc_ts)
		rc |= vals_add(&v[LAT_LIFE], s->release_ts - s->alloc_ts);
	for (int i = 0; i + 1 < s->nstates; i++) {
		uint32_t st = s->states[i];
		if (st < 13 && s->state_ts[i + 1] >= s->state_ts[i])
			rc |= vals_add(&v[LAT_STATE0 + (int)st], s->state_ts[i + 1] - s->state_ts[i]);
	}
	return rc ? -1 : 0;
}
