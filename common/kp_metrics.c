/* kp_metrics: a fixed table of families, each a hash of series under its
 * own mutex; rendering walks them; NNG's HTTP server answers the scrape. */
#include "kp_metrics.h"

#include "kp_log.h"

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KP_METRICS_FAMILIES   64
#define KP_METRICS_LABELS     4
#define KP_METRICS_BUCKETS    256 /* hash buckets of a family */
#define KP_METRICS_COLLECTORS 16

const double kp_metrics_latency_bounds[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const size_t kp_metrics_latency_nbounds =
    sizeof(kp_metrics_latency_bounds) / sizeof(kp_metrics_latency_bounds[0]);

typedef struct kp_series {
	struct kp_series *next;  /* in its hash bucket */
	struct kp_series *order; /* in creation order */
	char *key;               /* the values joined by \x1f */
	char *values[KP_METRICS_LABELS];
	double value;   /* counter, gauge */
	uint64_t count; /* histogram */
	double sum;
	uint64_t *buckets; /* [nbounds], not cumulative */
} kp_series;

struct kp_metric {
	const char *name, *help;
	kp_metric_type type;
	int nlabels;
	char *labels[KP_METRICS_LABELS];
	double *bounds;
	size_t nbounds;
	pthread_mutex_t mu;
	kp_series *table[KP_METRICS_BUCKETS];
	kp_series *first, *last;
};

static pthread_mutex_t kp_metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static kp_metric *kp_metrics_fams[KP_METRICS_FAMILIES];
static int kp_metrics_nfams;
static struct {
	void (*fn)(void *);
	void *arg;
} kp_metrics_colls[KP_METRICS_COLLECTORS];
static int kp_metrics_ncolls;

kp_metric *
kp_metrics_family(const char *name, kp_metric_type type, const char *help,
                  const char *labels, const double *bounds, size_t nbounds)
{
	kp_metric *m = NULL;

	pthread_mutex_lock(&kp_metrics_mu);
	for (int i = 0; i < kp_metrics_nfams; i++)
		if (strcmp(kp_metrics_fams[i]->name, name) == 0) {
			m = kp_metrics_fams[i];
			goto out;
		}
	if (kp_metrics_nfams == KP_METRICS_FAMILIES ||
	    (m = calloc(1, sizeof(*m))) == NULL)
		goto out;
	m->name = name;
	m->help = help;
	m->type = type;
	pthread_mutex_init(&m->mu, NULL);
	for (const char *p = labels;
	     p != NULL && *p != '\0' && m->nlabels < KP_METRICS_LABELS;) {
		size_t n = strcspn(p, ",");

		m->labels[m->nlabels++] = strndup(p, n);
		p += n + (p[n] == ',');
	}
	if (type == KP_METRIC_HISTOGRAM) {
		if (bounds == NULL) {
			bounds = kp_metrics_latency_bounds;
			nbounds = kp_metrics_latency_nbounds;
		}
		m->bounds = malloc(nbounds * sizeof(*bounds));
		if (m->bounds != NULL) {
			memcpy(m->bounds, bounds, nbounds * sizeof(*bounds));
			m->nbounds = nbounds;
		}
	}
	kp_metrics_fams[kp_metrics_nfams++] = m;
out:
	pthread_mutex_unlock(&kp_metrics_mu);
	return m;
}

static uint32_t
kp_metrics_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The series of values, made when missing; m->mu held. NULL when out of
 * memory. */
static kp_series *
kp_metrics_series(kp_metric *m, const char *const *values)
{
	char key[512];
	size_t used = 0;
	uint32_t h;
	kp_series *s;

	key[0] = '\0';
	for (int i = 0; i < m->nlabels; i++) {
		int n = snprintf(key + used, sizeof(key) - used, "%s%s",
		                 i ? "\x1f" : "",
		                 values && values[i] ? values[i] : "");
		if (n < 0 || (size_t)n >= sizeof(key) - used)
			break;
		used += (size_t)n;
	}
	h = kp_metrics_hash(key) % KP_METRICS_BUCKETS;
	for (s = m->table[h]; s != NULL; s = s->next)
		if (strcmp(s->key, key) == 0)
			return s;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->key = strdup(key)) == NULL)
		goto fail;
	for (int i = 0; i < m->nlabels; i++)
		if ((s->values[i] =
		         strdup(values && values[i] ? values[i] : "")) == NULL)
			goto fail;
	if (m->type == KP_METRIC_HISTOGRAM &&
	    (s->buckets = calloc(m->nbounds + 1, sizeof(*s->buckets))) == NULL)
		goto fail;
	s->next = m->table[h];
	m->table[h] = s;
	if (m->last != NULL)
		m->last->order = s;
	else
		m->first = s;
	m->last = s;
	return s;
fail:
	if (s != NULL) {
		for (int i = 0; i < KP_METRICS_LABELS; i++)
			free(s->values[i]);
		free(s->key);
		free(s);
	}
	return NULL;
}

void
kp_metrics_add(kp_metric *m, const char *const *values, double v)
{
	kp_series *s;

	if (m == NULL || m->type == KP_METRIC_HISTOGRAM)
		return;
	pthread_mutex_lock(&m->mu);
	if ((s = kp_metrics_series(m, values)) != NULL)
		s->value += v;
	pthread_mutex_unlock(&m->mu);
}

void
kp_metrics_set(kp_metric *m, const char *const *values, double v)
{
	kp_series *s;

	if (m == NULL || m->type == KP_METRIC_HISTOGRAM)
		return;
	pthread_mutex_lock(&m->mu);
	if ((s = kp_metrics_series(m, values)) != NULL)
		s->value = v;
	pthread_mutex_unlock(&m->mu);
}

void
kp_metrics_observe(kp_metric *m, const char *const *values, double v)
{
	kp_series *s;

	if (m == NULL || m->type != KP_METRIC_HISTOGRAM)
		return;
	pthread_mutex_lock(&m->mu);
	if ((s = kp_metrics_series(m, values)) != NULL) {
		size_t b = 0;

		while (b < m->nbounds && v > m->bounds[b])
			b++;
		s->buckets[b]++; /* b == nbounds: only +Inf */
		s->count++;
		s->sum += v;
	}
	pthread_mutex_unlock(&m->mu);
}

double
kp_metrics_value(kp_metric *m, const char *const *values)
{
	kp_series *s;
	double v = 0;

	if (m == NULL)
		return 0;
	pthread_mutex_lock(&m->mu);
	if ((s = kp_metrics_series(m, values)) != NULL)
		v = m->type == KP_METRIC_HISTOGRAM ? (double)s->count
		                                   : s->value;
	pthread_mutex_unlock(&m->mu);
	return v;
}

int
kp_metrics_collector(void (*fn)(void *arg), void *arg)
{
	int rv = -1;

	pthread_mutex_lock(&kp_metrics_mu);
	if (kp_metrics_ncolls < KP_METRICS_COLLECTORS) {
		kp_metrics_colls[kp_metrics_ncolls].fn = fn;
		kp_metrics_colls[kp_metrics_ncolls].arg = arg;
		kp_metrics_ncolls++;
		rv = 0;
	}
	pthread_mutex_unlock(&kp_metrics_mu);
	return rv;
}

/* ---- rendering -------------------------------------------------------- */

typedef struct kp_mbuf {
	char *p;
	size_t len, cap;
	int failed;
} kp_mbuf;

static void __attribute__((format(printf, 2, 3)))
kp_mbuf_printf(kp_mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	while (!b->failed) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *np = n < 0 ? NULL : realloc(b->p, b->cap * 2 + (size_t)n);
		if (np == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void
kp_mbuf_value(kp_mbuf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			kp_mbuf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			kp_mbuf_printf(b, "\\n");
		else
			kp_mbuf_printf(b, "%c", *v);
	}
}

/* {a="x",b="y"[,le="0.5"]}, or nothing without labels. */
static void
kp_mbuf_labels(kp_mbuf *b, const kp_metric *m, const kp_series *s,
               const char *le)
{
	if (m->nlabels == 0 && le == NULL)
		return;
	kp_mbuf_printf(b, "{");
	for (int i = 0; i < m->nlabels; i++) {
		kp_mbuf_printf(b, "%s%s=\"", i ? "," : "", m->labels[i]);
		kp_mbuf_value(b, s->values[i]);
		kp_mbuf_printf(b, "\"");
	}
	if (le != NULL)
		kp_mbuf_printf(b, "%sle=\"%s\"", m->nlabels ? "," : "", le);
	kp_mbuf_printf(b, "}");
}

static void
kp_metrics_render_family(kp_mbuf *b, kp_metric *m)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};

	kp_mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help,
	               m->name, types[m->type]);
	pthread_mutex_lock(&m->mu);
	for (kp_series *s = m->first; s != NULL; s = s->order) {
		uint64_t cum = 0;
		char le[32];

		if (m->type != KP_METRIC_HISTOGRAM) {
			kp_mbuf_printf(b, "%s", m->name);
			kp_mbuf_labels(b, m, s, NULL);
			kp_mbuf_printf(b, " %.15g\n", s->value);
			continue;
		}
		for (size_t k = 0; k <= m->nbounds; k++) {
			cum += s->buckets[k];
			if (k < m->nbounds)
				snprintf(le, sizeof(le), "%g", m->bounds[k]);
			else
				snprintf(le, sizeof(le), "+Inf");
			kp_mbuf_printf(b, "%s_bucket", m->name);
			kp_mbuf_labels(b, m, s, le);
			kp_mbuf_printf(b, " %llu\n", (unsigned long long)cum);
		}
		kp_mbuf_printf(b, "%s_sum", m->name);
		kp_mbuf_labels(b, m, s, NULL);
		kp_mbuf_printf(b, " %.9g\n%s_count", s->sum, m->name);
		kp_mbuf_labels(b, m, s, NULL);
		kp_mbuf_printf(b, " %llu\n", (unsigned long long)s->count);
	}
	pthread_mutex_unlock(&m->mu);
}

char *
kp_metrics_render(size_t *len)
{
	kp_mbuf b = {malloc(16384), 0, 16384, 0};
	int nfams, ncolls;

	if (b.p == NULL)
		return NULL;
	pthread_mutex_lock(&kp_metrics_mu);
	ncolls = kp_metrics_ncolls;
	pthread_mutex_unlock(&kp_metrics_mu);
	for (int i = 0; i < ncolls; i++)
		kp_metrics_colls[i].fn(kp_metrics_colls[i].arg);
	pthread_mutex_lock(&kp_metrics_mu);
	nfams = kp_metrics_nfams;
	pthread_mutex_unlock(&kp_metrics_mu);
	for (int i = 0; i < nfams; i++)
		kp_metrics_render_family(&b, kp_metrics_fams[i]);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- the listener ------------------------------------------------------ */

static nng_http_server *kp_metrics_srv;

static void
kp_metrics_handle(nng_aio *aio)
{
	nng_http_res *res = NULL;
	size_t len = 0;
	char *text = kp_metrics_render(&len);
	int rv;

	if (text == NULL) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	if ((rv = nng_http_res_alloc(&res)) != 0 ||
	    (rv = nng_http_res_set_header(
	         res, "Content-Type",
	         "text/plain; version=0.0.4; charset=utf-8")) != 0 ||
	    (rv = nng_http_res_copy_data(res, text, len)) != 0) {
		free(text);
		if (res != NULL)
			nng_http_res_free(res);
		nng_aio_finish(aio, rv);
		return;
	}
	free(text);
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

int
kp_metrics_serve(const char *addr, int port)
{
	char buf[300];
	nng_url *url = NULL;
	nng_http_handler *h = NULL;
	int rv;

	if (port <= 0)
		return 0;
	snprintf(buf, sizeof(buf),
	         strchr(addr, ':') ? "http://[%s]:%d" : "http://%s:%d", addr,
	         port);
	if ((rv = nng_url_parse(&url, buf)) != 0 ||
	    (rv = nng_http_server_hold(&kp_metrics_srv, url)) != 0)
		goto fail;
	if ((rv = nng_http_handler_alloc(&h, "/metrics", kp_metrics_handle)) !=
	        0 ||
	    (rv = nng_http_server_add_handler(kp_metrics_srv, h)) != 0) {
		if (h != NULL)
			nng_http_handler_free(h);
		goto fail;
	}
	if ((rv = nng_http_server_start(kp_metrics_srv)) != 0)
		goto fail;
	nng_url_free(url);
	kp_log_info("metrics on %s/metrics", buf);
	return 0;
fail:
	kp_log_error("metrics: cannot listen on %s: %s (serving without "
	             "metrics)",
	             buf, nng_strerror(rv));
	if (kp_metrics_srv != NULL)
		nng_http_server_release(kp_metrics_srv);
	kp_metrics_srv = NULL;
	if (url != NULL)
		nng_url_free(url);
	return -1;
}

void
kp_metrics_stop(void)
{
	if (kp_metrics_srv == NULL)
		return;
	nng_http_server_stop(kp_metrics_srv);
	nng_http_server_release(kp_metrics_srv);
	kp_metrics_srv = NULL;
}
