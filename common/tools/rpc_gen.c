/* kp-rpc-gen: the method tables of the RPC contract, generated from the
 * `service` blocks of proto/<service>.proto.
 *
 *   kp-rpc-gen <descriptor set> <out.h> <out.c> <out.txt>
 *
 * The descriptor set is protoc-c's --descriptor_set_out (with
 * --include_imports) of proto/<service>.proto; protoc does all the parsing.
 * Each service block of package keyport.<service> becomes one table of
 * kp_rpc_desc (common/kp_rpc.h), in declaration order: its name
 * "<service>.<Method>", its request and reply descriptors, and the options
 * of proto/rpc_options.proto (idempotent, callers, test_only). out.txt lists
 * one method per line for scripts/rpc-contract.sh, which checks
 * docs/rpc-contract.md against it.
 *
 * A method without callers (unless test_only), a caller that is not a
 * process of Keyport, or a service that is not in kp_services.def stops the
 * generation with a message naming the method.
 */
#include "google/protobuf/descriptor.pb-c.h"
#include "kp_services.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_OPT_IDEMPOTENT 50001
#define GEN_OPT_CALLERS    50002
#define GEN_OPT_TEST_ONLY  50003

typedef struct gen_opts {
	int idempotent, test_only;
	char callers[256];
} gen_opts;

/* protoc-c's name of a message's descriptor: ".keyport.auth.LoginRequest"
 * -> "keyport__auth__login_request__descriptor" (its FullNameToLower). */
static void
gen_descriptor_name(const char *full, char *out, size_t len)
{
	size_t n = 0;
	int was_upper = 1;

	if (*full == '.')
		full++;
	for (; *full != '\0' && n + 16 < len; full++) {
		if (*full == '.') {
			out[n++] = '_';
			out[n++] = '_';
			was_upper = 1;
		} else if (isupper((unsigned char)*full)) {
			if (!was_upper)
				out[n++] = '_';
			out[n++] = (char)tolower((unsigned char)*full);
			was_upper = 1;
		} else {
			out[n++] = *full;
			was_upper = 0;
		}
	}
	snprintf(out + n, len - n, "__descriptor");
}

/* "CreatePersonalAccessToken" -> "CREATE_PERSONAL_ACCESS_TOKEN" */
static void
gen_upper(const char *camel, char *out, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; camel[i] != '\0' && n + 2 < len; i++) {
		if (i > 0 && isupper((unsigned char)camel[i]) &&
		    !isupper((unsigned char)camel[i - 1]))
			out[n++] = '_';
		out[n++] = (char)toupper((unsigned char)camel[i]);
	}
	out[n] = '\0';
}

/* Reads a varint from p[0..len); returns the bytes used, 0 when bad. */
static size_t
gen_varint(const uint8_t *p, size_t len, uint64_t *v)
{
	*v = 0;
	for (size_t i = 0; i < len && i < 10; i++) {
		*v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0)
			return i + 1;
	}
	return 0;
}

/* The custom options are unknown fields of MethodOptions to protobuf-c. */
static int
gen_method_opts(const Google__Protobuf__MethodOptions *o, gen_opts *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; o != NULL && i < o->base.n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *f =
		    &o->base.unknown_fields[i];
		uint64_t v;

		switch (f->tag) {
		case GEN_OPT_IDEMPOTENT:
		case GEN_OPT_TEST_ONLY:
			if (f->wire_type != PROTOBUF_C_WIRE_TYPE_VARINT ||
			    gen_varint(f->data, f->len, &v) == 0)
				return -1;
			if (f->tag == GEN_OPT_IDEMPOTENT)
				out->idempotent = v != 0;
			else
				out->test_only = v != 0;
			break;
		case GEN_OPT_CALLERS: {
			/* protobuf-c keeps the length prefix in data */
			size_t used = gen_varint(f->data, f->len, &v);

			if (f->wire_type !=
			        PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED ||
			    used == 0 || v != f->len - used ||
			    v >= sizeof(out->callers))
				return -1;
			memcpy(out->callers, f->data + used, (size_t)v);
			out->callers[v] = '\0';
			break;
		}
		default:
			break;
		}
	}
	return 0;
}

/* Writes the C expression of a callers list; -1 for an unknown name. */
static int
gen_callers(FILE *c, const char *list)
{
	char buf[256], *save = NULL, *tok;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save), n++) {
		char up[64];
		int id = kp_services_find(tok);

		if (strcmp(tok, "gateway") != 0 && id < 0)
			return -1;
		fprintf(c, "%s", n ? " | " : "");
		if (id < 0) {
			fprintf(c, "KP_RPC_FROM_GATEWAY");
			continue;
		}
		gen_upper(tok, up, sizeof(up));
		fprintf(c, "KP_RPC_FROM_SERVICE(KP_SERVICES_%s)", up);
	}
	if (n == 0)
		fprintf(c, "0");
	return 0;
}

/* The service of a file: "keyport.auth" -> "auth" (NULL otherwise). */
static const char *
gen_service_of(const Google__Protobuf__FileDescriptorProto *f)
{
	if (f->package == NULL || strncmp(f->package, "keyport.", 8) != 0 ||
	    kp_services_find(f->package + 8) < 0)
		return NULL;
	return f->package + 8;
}

static int
gen_service(FILE *h, FILE *c, FILE *txt,
            const Google__Protobuf__FileDescriptorProto *f, const char *svc)
{
	const Google__Protobuf__ServiceDescriptorProto *s = f->service[0];
	char up[64], m_up[128], req[256], rep[256];

	gen_upper(svc, up, sizeof(up));
	fprintf(h, "\n/* %s (%s, service %s) */\nenum {\n", svc, f->name,
	        s->name);
	fprintf(c, "\nconst kp_rpc_desc kp_contract_%s[KP_M_%s_COUNT] = {\n",
	        svc, up);
	for (size_t i = 0; i < s->n_method; i++) {
		const Google__Protobuf__MethodDescriptorProto *m = s->method[i];
		gen_opts o;

		if (gen_method_opts(m->options, &o) != 0) {
			fprintf(stderr, "rpc_gen: %s.%s: bad options\n", svc,
			        m->name);
			return -1;
		}
		if (o.callers[0] == '\0' && !o.test_only) {
			fprintf(stderr,
			        "rpc_gen: %s.%s: option (keyport.rpc.callers) "
			        "is required\n",
			        svc, m->name);
			return -1;
		}
		gen_upper(m->name, m_up, sizeof(m_up));
		gen_descriptor_name(m->input_type, req, sizeof(req));
		gen_descriptor_name(m->output_type, rep, sizeof(rep));
		fprintf(h, "\tKP_M_%s_%s,\n", up, m_up);
		fprintf(c,
		        "    {\"%s.%s\", KP_SERVICES_%s, KP_M_%s_%s, &%s, &%s, "
		        "%s, %s, ",
		        svc, m->name, up, up, m_up, req, rep,
		        o.idempotent ? "true" : "false",
		        o.test_only ? "true" : "false");
		if (gen_callers(c, o.callers) != 0) {
			fprintf(stderr,
			        "rpc_gen: %s.%s: unknown caller in "
			        "\"%s\"\n",
			        svc, m->name, o.callers);
			return -1;
		}
		fprintf(c, "},\n");
		fprintf(txt, "%s.%s %s %s%s%s callers=%s\n", svc, m->name,
		        m->input_type + 1, m->output_type + 1,
		        o.idempotent ? " idempotent" : "",
		        o.test_only ? " test-only" : "",
		        o.callers[0] ? o.callers : "-");
	}
	fprintf(c, "};\n");
	fprintf(h, "\tKP_M_%s_COUNT\n};\n", up);
	fprintf(h, "extern const kp_rpc_desc kp_contract_%s[KP_M_%s_COUNT];\n",
	        svc, up);
	for (size_t i = 0; i < s->n_method; i++) {
		gen_upper(s->method[i]->name, m_up, sizeof(m_up));
		fprintf(h,
		        "#define KP_RPC_%s_%s (&kp_contract_%s[KP_M_%s_%s])\n",
		        up, m_up, svc, up, m_up);
	}
	return 0;
}

static uint8_t *
gen_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	} else {
		*len = (size_t)n;
	}
	if (f != NULL)
		fclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	Google__Protobuf__FileDescriptorSet *set = NULL;
	const char *with[KP_SERVICES_COUNT] = {0};
	FILE *h = NULL, *c = NULL, *txt = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int status = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: kp-rpc-gen <descriptor set> <out.h> "
		                "<out.c> <out.txt>\n");
		return 2;
	}
	if ((buf = gen_read(argv[1], &len)) == NULL ||
	    (set = google__protobuf__file_descriptor_set__unpack(
	         NULL, len, buf)) == NULL) {
		fprintf(stderr, "rpc_gen: cannot read %s\n", argv[1]);
		goto out;
	}
	if ((h = fopen(argv[2], "w")) == NULL ||
	    (c = fopen(argv[3], "w")) == NULL ||
	    (txt = fopen(argv[4], "w")) == NULL) {
		fprintf(stderr, "rpc_gen: cannot write the outputs\n");
		goto out;
	}
	fprintf(
	    h, "/* kp_contract: the RPC method tables, generated by "
	       "common/tools/rpc_gen.c\n * from the service blocks of "
	       "proto/<service>.proto. Do not edit. */\n#ifndef KP_CONTRACT_H\n"
	       "#define KP_CONTRACT_H\n\n#include \"kp_rpc.h\"\n"
	       "#include \"kp_services.h\"\n");
	fprintf(c, "/* Generated by common/tools/rpc_gen.c. Do not edit. */\n"
	           "#include \"rpc/kp_contract.h\"\n");
	for (size_t i = 0; i < set->n_file; i++)
		if (gen_service_of(set->file[i]) != NULL &&
		    set->file[i]->n_service > 0)
			fprintf(h, "#include \"%.*s.pb-c.h\"\n",
			        (int)(strlen(set->file[i]->name) - 6),
			        set->file[i]->name);
	for (size_t i = 0; i < set->n_file; i++) {
		const Google__Protobuf__FileDescriptorProto *f = set->file[i];
		const char *svc = gen_service_of(f);

		if (svc == NULL || f->n_service == 0)
			continue;
		if (f->n_service > 1) {
			fprintf(stderr, "rpc_gen: %s: one service per file\n",
			        f->name);
			goto out;
		}
		if (gen_service(h, c, txt, f, svc) != 0)
			goto out;
		with[kp_services_find(svc)] = svc;
	}
	fprintf(h, "\n/* The table of each service, by kp_services_id (NULL "
	           "and 0 for one\n * without a service block). */\nextern "
	           "const kp_rpc_desc *const kp_contract[KP_SERVICES_COUNT];\n"
	           "extern const size_t kp_contract_n[KP_SERVICES_COUNT];\n"
	           "\n#endif\n");
	fprintf(c, "\nconst kp_rpc_desc *const kp_contract[KP_SERVICES_COUNT] "
	           "= {\n");
	for (int i = 0; i < KP_SERVICES_COUNT; i++)
		if (with[i] != NULL)
			fprintf(c, "    kp_contract_%s,\n", with[i]);
		else
			fprintf(c, "    NULL,\n");
	fprintf(c, "};\n\nconst size_t kp_contract_n[KP_SERVICES_COUNT] = {\n");
	for (int i = 0; i < KP_SERVICES_COUNT; i++) {
		char up[64];

		if (with[i] == NULL) {
			fprintf(c, "    0,\n");
			continue;
		}
		gen_upper(with[i], up, sizeof(up));
		fprintf(c, "    KP_M_%s_COUNT,\n", up);
	}
	fprintf(c, "};\n");
	status = 0;
out:
	if (set != NULL)
		google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
	free(buf);
	if (h != NULL && fclose(h) != 0)
		status = 1;
	if (c != NULL && fclose(c) != 0)
		status = 1;
	if (txt != NULL && fclose(txt) != 0)
		status = 1;
	if (status != 0) {
		remove(argv[2]);
		remove(argv[3]);
		remove(argv[4]);
	}
	return status;
}
