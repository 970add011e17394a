/* latency.h - the duration metrics of `sockreport latency`, shared with
 * `html`: which durations a finished socket contributes, and their names. */
#ifndef SOCKREPORT_LATENCY_H
#define SOCKREPORT_LATENCY_H
#include "hist.h"
#include "model.h"

/* connect (established, failed), accept-queue wait, lifetime, then the
 * time spent in each TCP state 0..12 */
enum { LAT_CONN_OK, LAT_CONN_FAIL, LAT_ACCEPT, LAT_LIFE, LAT_STATE0, LAT__N = LAT_STATE0 + 13 };

extern const char *const lat_metric_json[LAT_STATE0];
extern const char *const lat_metric_text[LAT_STATE0];

/* Adds the durations of s to v[LAT__N]; -1 on ENOMEM. */
int latency_account(struct vals *v, const struct msock *s);

#endif
