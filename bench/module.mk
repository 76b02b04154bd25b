# bench/: the binaries `make bench` needs besides the stack (included by the
# top-level Makefile). `make bench-build` builds them; scripts/bench.sh
# calls it.
BENCH_BINS := $(BUILD)/bench/bare_mhd $(BUILD)/bench/rpc_hop \
              $(BUILD)/bench/argon2

.PHONY: bench-build
bench-build: $(BENCH_BINS)

$(BUILD)/bench/bare_mhd: $(BUILD)/obj/bench/bare_mhd.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lmicrohttpd -lsodium -ljansson

$(BUILD)/bench/argon2: $(BUILD)/obj/bench/argon2.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lsodium

# (the libraries by path: this file is included before LIB_COMMON is set)
$(BUILD)/bench/rpc_hop: $(BUILD)/obj/bench/rpc_hop.o $(BUILD)/lib/libkpcommon.a \
                       $(BUILD)/lib/libkpproto.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
