# The activation service: sources of build/bin/keyport-activation (migrations in sql/ are
# embedded automatically; unit tests are services/activation/*_test.c).
activation_SRCS := services/activation/activation_main.c
activation_LIBS :=
