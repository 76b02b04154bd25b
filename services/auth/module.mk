# The auth service: sources of build/bin/keyport-auth (migrations in sql/ are
# embedded automatically; unit tests are services/auth/*_test.c).
auth_SRCS := services/auth/auth_main.c services/auth/auth_keys.c \
             services/auth/auth_pw.c services/auth/auth_users.c \
             services/auth/auth_session.c services/auth/auth_pat.c \
             services/auth/auth_outbox.c
auth_LIBS :=
