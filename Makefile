# Keyport: one Makefile for the whole tree.
#   make run    install what is missing, build, start the stack (var/)
#   make test   install what is missing, build, run every test tier
#   make bench  benchmarks, as ratios against this machine's own limits
#   make SAN=1  the same with ASan and UBSan (objects in build-san/)
#   make san-test  is make SAN=1 test (CI runs it after make test)

VERSION  := 0.1.0
SERVICES := auth org license activation release

ifeq ($(FUZZ),1)
# `make fuzz`: clang's libFuzzer with ASan and UBSan (objects in build-fuzz/)
BUILD    ?= build-fuzz
SANFLAGS := -fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer
OPT      := -O1
else ifeq ($(SAN),1)
BUILD    ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
OPT      := -O1
else
BUILD    ?= build
SANFLAGS :=
OPT      := -O2
endif

CC       ?= cc
GEN      := $(BUILD)/gen
CPPFLAGS += -I$(GEN) -Icommon -Igateway -Iclient -Itests/harness -D_GNU_SOURCE \
            -DKEYPORT_VERSION='"$(VERSION)"' -MMD -MP \
            $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
CFLAGS   += -std=c11 $(OPT) -g -Wall -Wextra -Werror -pthread $(SANFLAGS)
LDFLAGS  += -pthread $(SANFLAGS)
LDLIBS   := -lnng -lprotobuf-c -lpq -lsodium -ljansson -lm
TESTLIBS := -lcriterion

# ---- sources ------------------------------------------------------------
PROTOS       := $(sort $(wildcard proto/*.proto))
PROTO_C      := $(PROTOS:proto/%.proto=$(GEN)/proto/%.pb-c.c)
PROTO_H      := $(PROTO_C:.c=.h)
# descriptor.proto (libprotobuf-dev): proto/rpc_options.proto extends it
PROTO_INC    := /usr/include
DESC_C       := $(GEN)/google/protobuf/descriptor.pb-c.c
# the RPC contract, generated from the service blocks (common/tools/rpc_gen.c)
CONTRACT_C   := $(GEN)/rpc/kp_contract.c
CONTRACT_H   := $(GEN)/rpc/kp_contract.h
# the git commit of keyport_build_info (common/kp_stats.c); rewritten
# only when it changes, so a new commit rebuilds one object
COMMIT       := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
BUILD_H      := $(GEN)/kp_build.h
GEN_H        := $(PROTO_H) $(DESC_C:.c=.h) $(CONTRACT_H) $(BUILD_H)
COMMON_SRCS  := $(filter-out %_test.c,$(sort $(wildcard common/*.c)))
COMMON_TESTS := $(sort $(wildcard common/*_test.c))
GATEWAY_SRCS := $(filter-out %_test.c,$(sort $(wildcard gateway/*.c)))
HARNESS_SRCS := $(sort $(wildcard tests/harness/*.c))
IT_TESTS     := $(sort $(wildcard tests/integration/*_test.c))

include $(foreach s,$(SERVICES),services/$(s)/module.mk)
-include client/module.mk
-include bench/module.mk

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_PROTO  := $(BUILD)/lib/libkpproto.a
LIB_COMMON := $(BUILD)/lib/libkpcommon.a
LIB_CLIENT := $(BUILD)/lib/libkeyport.a
BIN        := $(BUILD)/bin
TESTBIN    := $(BUILD)/test
TOOLS      := $(BUILD)/tools/kp-config-doc $(BUILD)/tools/kp-rpc-gen

BINARIES := $(BIN)/keyport-gateway $(SERVICES:%=$(BIN)/keyport-%)
ifneq ($(client_CLI_SRCS),)
BINARIES += $(BIN)/keyport
endif

UNIT_TESTS := $(if $(COMMON_TESTS),$(TESTBIN)/unit-common) \
              $(foreach s,$(SERVICES),$(if $(wildcard services/$(s)/*_test.c),$(TESTBIN)/unit-$(s))) \
              $(if $(wildcard gateway/*_test.c),$(TESTBIN)/unit-gateway) \
              $(if $(wildcard client/*_test.c),$(TESTBIN)/unit-client)
IT_BINS    := $(IT_TESTS:tests/integration/%_test.c=$(TESTBIN)/it-%)

.PHONY: all build deps run test test-unit test-integration lint bench \
        format clean san-test config-doc rpc-doc soak fuzz fuzz-build FORCE
.DEFAULT_GOAL := build
.SECONDEXPANSION:
# generated sources are kept, not treated as intermediates
.SECONDARY:
all: build
build: $(BINARIES)

# ---- generated code -----------------------------------------------------
$(GEN)/proto/%.pb-c.c $(GEN)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=. --proto_path=$(PROTO_INC) --c_out=$(GEN) $<

$(DESC_C) $(DESC_C:.c=.h): $(PROTO_INC)/google/protobuf/descriptor.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=$(PROTO_INC) --c_out=$(GEN) google/protobuf/descriptor.proto

$(GEN)/rpc/contract.pb: $(PROTOS)
	@mkdir -p $(dir $@)
	protoc-c --proto_path=. --proto_path=$(PROTO_INC) --include_imports \
	    --descriptor_set_out=$@ $(PROTOS)

$(CONTRACT_C) $(CONTRACT_H) $(GEN)/rpc/contract.txt: $(GEN)/rpc/contract.pb $(BUILD)/tools/kp-rpc-gen
	$(BUILD)/tools/kp-rpc-gen $< $(CONTRACT_H) $(CONTRACT_C) $(GEN)/rpc/contract.txt

$(BUILD_H): FORCE
	@mkdir -p $(dir $@)
	@printf '#define KEYPORT_COMMIT "%s"\n' '$(COMMIT)' >$@.tmp; \
	cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
FORCE:

$(GEN)/%_migrations.c: scripts/embed-sql.sh $$(sort $$(wildcard services/$$*/sql/*.sql)) | $(GEN)
	scripts/embed-sql.sh $* $@ $(sort $(wildcard services/$*/sql/*.sql))
$(GEN):
	@mkdir -p $@

# every object may include generated protobuf and contract headers
$(BUILD)/obj/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# the generator itself needs only the descriptor's header
$(BUILD)/obj/common/tools/rpc_gen.o: common/tools/rpc_gen.c | $(DESC_C:.c=.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/gen/google/protobuf/descriptor.pb-c.o: $(DESC_C) | $(DESC_C:.c=.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-unused-parameter -c -o $@ $<

$(BUILD)/obj/common/kp_services.o: common/kp_services.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/gen/%.o: $(GEN)/%.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-unused-parameter -c -o $@ $<

# ---- libraries and binaries ---------------------------------------------
$(LIB_PROTO): $(PROTO_C:$(GEN)/%.c=$(BUILD)/obj/gen/%.o) \
              $(BUILD)/obj/gen/google/protobuf/descriptor.pb-c.o \
              $(BUILD)/obj/gen/rpc/kp_contract.o
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(LIB_COMMON): $(call obj,$(COMMON_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BIN)/keyport-gateway: $(call obj,$(GATEWAY_SRCS)) $(LIB_COMMON) $(LIB_PROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lmicrohttpd -lz $(LDLIBS)

define service_rules
$(BIN)/keyport-$(1): $(call obj,$($(1)_SRCS)) $(BUILD)/obj/gen/$(1)_migrations.o $(LIB_COMMON) $(LIB_PROTO)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $($(1)_LIBS) $$(LDLIBS)

$(TESTBIN)/unit-$(1): $(call obj,$(wildcard services/$(1)/*_test.c) $(filter-out services/$(1)/$(1)_main.c,$($(1)_SRCS)) tests/harness/kpt_pg.c) $(BUILD)/obj/gen/$(1)_migrations.o $(LIB_COMMON) $(LIB_PROTO)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $($(1)_LIBS) $$(LDLIBS) $$(TESTLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rules,$(s))))

$(LIB_CLIENT): $(call obj,$(client_LIB_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BIN)/keyport: $(call obj,$(client_CLI_SRCS)) $(LIB_CLIENT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(client_LIBS)

$(BUILD)/tools/kp-rpc-gen: $(call obj,common/tools/rpc_gen.c common/kp_services.c) $(BUILD)/obj/gen/google/protobuf/descriptor.pb-c.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lprotobuf-c

$(BUILD)/tools/kp-config-doc: $(call obj,common/tools/config_doc.c) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- tests --------------------------------------------------------------
$(TESTBIN)/unit-common: $(call obj,$(COMMON_TESTS)) $(LIB_COMMON) $(LIB_PROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TESTLIBS)

$(TESTBIN)/unit-gateway: $(call obj,$(wildcard gateway/*_test.c) $(filter-out gateway/gw_main.c,$(GATEWAY_SRCS))) $(LIB_COMMON) $(LIB_PROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lmicrohttpd -lz $(LDLIBS) $(TESTLIBS)

$(TESTBIN)/unit-client: $(call obj,$(wildcard client/*_test.c)) $(LIB_CLIENT)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(client_LIBS) $(TESTLIBS)

$(TESTBIN)/it-%: $(BUILD)/obj/tests/integration/%_test.o $(call obj,$(HARNESS_SRCS)) $(LIB_COMMON) $(LIB_PROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcurl $(LDLIBS) $(TESTLIBS)

# ---- fuzz targets (fuzz/, issue 19) ---------------------------------------
# Each target links with libFuzzer for `make fuzz` (FUZZ=1, clang), and
# with fuzz/driver.c otherwise: `make test` runs fuzz/corpus/<target>/ once.
FUZZ_TARGETS := gw_request gw_routes offline token envelope
FUZZ_SECONDS ?= 60
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(TESTBIN)/fuzz-%)
GW_LIB_OBJS  := $(call obj,$(filter-out gateway/gw_main.c,$(GATEWAY_SRCS)))
fuzz_objs_gw_request := $(GW_LIB_OBJS)
# gw_routes brings its own gw_call (it packs the request and answers 503)
fuzz_objs_gw_routes  := $(filter-out $(call obj,gateway/gw_call.c),$(GW_LIB_OBJS))
ifeq ($(FUZZ),1)
FUZZ_MAIN :=
FUZZ_LINK := -fsanitize=fuzzer
else
FUZZ_MAIN := $(BUILD)/obj/fuzz/driver.o
FUZZ_LINK :=
endif

$(TESTBIN)/fuzz-%: $(BUILD)/obj/fuzz/fuzz_%.o $(FUZZ_MAIN) $$(fuzz_objs_$$*) $(LIB_COMMON) $(LIB_PROTO)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(FUZZ_LINK) -o $@ $^ -lmicrohttpd -lz $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

# every target for FUZZ_SECONDS (default 60) each; the figures go to
# build-fuzz/fuzz-figures.md (docs/reliability.md quotes the last ones)
fuzz: deps
	@$(MAKE) --no-print-directory FUZZ=1 CC=clang fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_TARGETS)

# ---- the two commands ---------------------------------------------------
deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory build
	@BUILD=$(BUILD) scripts/run.sh

test: deps
	@$(MAKE) --no-print-directory build $(TOOLS) $(GEN)/rpc/contract.txt $(UNIT_TESTS) $(IT_BINS) $(FUZZ_BINS)
	@BUILD=$(BUILD) FUZZ_BINS="$(FUZZ_BINS)" scripts/test.sh $(UNIT_TESTS) $(IT_BINS)

# the whole suite with ASan and UBSan; a sanitizer report of a test binary
# or of any process of the stack fails it (tests/harness/kpt.c, test.sh)
san-test:
	@$(MAKE) --no-print-directory SAN=1 test

bench: deps
	@$(MAKE) --no-print-directory build
	@BUILD=$(BUILD) scripts/bench.sh

# faults under load for SOAK_SECONDS (default 300): kills of every process
# and PostgreSQL restarts, with the accounting of docs/reliability.md;
# `make test` runs the same test for one round of faults
soak: deps
	@$(MAKE) --no-print-directory build $(TESTBIN)/it-soak
	@mkdir -p $(BUILD)/test-logs; \
	KEYPORT_ROOT=$(CURDIR) KEYPORT_BIN_DIR=$(CURDIR)/$(BUILD)/bin \
	SOAK_SECONDS=$${SOAK_SECONDS:-300} $(TESTBIN)/it-soak --jobs 1 \
	    >$(BUILD)/test-logs/it-soak.log 2>&1; rc=$$?; \
	grep -aE '^soak:|Synthesis|FAIL' $(BUILD)/test-logs/it-soak.log; exit $$rc

lint:
	@scripts/lint.sh

# rewrites docs/rpc-contract.md's method table from the service blocks
rpc-doc: $(GEN)/rpc/contract.txt
	@BUILD=$(BUILD) scripts/rpc-contract.sh write

# rewrites README.md's configuration table from common/kp_config.def
config-doc: $(TOOLS)
	@BUILD=$(BUILD) scripts/config-doc.sh write

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
