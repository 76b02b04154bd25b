# bench/: the binaries `make bench` needs besides the stack (included by the
# top-level Makefile). `make bench-build` builds them; scripts/bench.sh
# calls it.
BENCH_BINS := $(BUILD)/bench/bare_mhd

.PHONY: bench-build
bench-build: $(BENCH_BINS)

$(BUILD)/bench/bare_mhd: $(BUILD)/obj/bench/bare_mhd.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lmicrohttpd
