"""The platform as real processes, for what runs it from outside: the system tests, the
benchmark (``bench/``) and the fault scenarios (``chaos/``). Not part of the product."""
