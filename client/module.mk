# libkeyport and the keyport command. The library carries its own copy of
# the two shared file-format modules so it needs no server library.
client_PLAT     := client/keyport_plat_posix.c
client_LIB_SRCS := client/keyport_client.c client/keyport_online.c \
                   client/keyport_offline.c client/keyport_trust.c \
                   client/keyport_check.c \
                   client/keyport_http.c client/keyport_fp.c \
                   client/keyport_state.c $(client_PLAT) \
                   common/kp_token.c common/kp_offline.c
client_CLI_SRCS := client/keyport_cli.c client/cli_admin.c client/cli_release.c
client_LIBS     := -lcurl -lsodium -ljansson -pthread

# The shared library, with a versioned soname (libkeyport.so.1), exporting
# only the KEYPORT_API functions of keyport.h, and its pkg-config file.
# Client objects are position-independent and hide everything else.
KEYPORT_SOVERSION := 1
CLIENT_SO  := $(BUILD)/lib/libkeyport.so.$(KEYPORT_SOVERSION).0.0
CLIENT_PC  := $(BUILD)/lib/pkgconfig/keyport.pc
PREFIX     ?= /usr/local
$(patsubst %.c,$(BUILD)/obj/%.o,$(client_LIB_SRCS)): CFLAGS += -fPIC -fvisibility=hidden

$(CLIENT_SO): $(patsubst %.c,$(BUILD)/obj/%.o,$(client_LIB_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libkeyport.so.$(KEYPORT_SOVERSION) \
	    -Wl,--no-undefined -o $@ $^ $(client_LIBS)
	ln -sf $(notdir $@) $(BUILD)/lib/libkeyport.so.$(KEYPORT_SOVERSION)
	ln -sf libkeyport.so.$(KEYPORT_SOVERSION) $(BUILD)/lib/libkeyport.so

$(CLIENT_PC): client/keyport.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< >$@

build: $(CLIENT_SO) $(CLIENT_PC)

# make install-client [PREFIX=/usr/local] [DESTDIR=]: header, libraries,
# keyport.pc (written for PREFIX) and the keyport tool. The build's own
# $(CLIENT_PC) is for PREFIX=/usr/local unless given at build time.
.PHONY: install-client
install-client: $(CLIENT_SO) $(BUILD)/bin/keyport $(BUILD)/lib/libkeyport.a
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 0644 client/keyport.h $(DESTDIR)$(PREFIX)/include/
	install -m 0755 $(CLIENT_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(notdir $(CLIENT_SO)) $(DESTDIR)$(PREFIX)/lib/libkeyport.so.$(KEYPORT_SOVERSION)
	ln -sf libkeyport.so.$(KEYPORT_SOVERSION) $(DESTDIR)$(PREFIX)/lib/libkeyport.so
	install -m 0644 $(BUILD)/lib/libkeyport.a $(DESTDIR)$(PREFIX)/lib/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' client/keyport.pc.in \
	    >$(DESTDIR)$(PREFIX)/lib/pkgconfig/keyport.pc
	install -m 0755 $(BUILD)/bin/keyport $(DESTDIR)$(PREFIX)/bin/

# the client's integration test drives the library itself too
$(BUILD)/test/it-client: $(BUILD)/lib/libkeyport.a
