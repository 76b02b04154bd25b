# The auth service: sources of build/bin/keyport-auth (migrations in sql/ are
# embedded automatically; unit tests are services/auth/*_test.c).
auth_SRCS := services/auth/auth_main.c
auth_LIBS :=
