# kubec build. `make` builds bin/kubec; `make test` installs missing packages, builds, runs every test;
# `make run` installs, builds and starts a one-node cluster with its data in ./data.
CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Isrc -Ibuild/gen -D_GNU_SOURCE -pthread
LDLIBS  := -lh2o-evloop -lcurl -lssl -lcrypto -lz -ljansson -lyaml -lsqlite3 -lm -pthread
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(filter-out $(EXCLUDE),$(shell find src -name '*.c' ! -path 'src/cmd/*' | sort))
CMD_SRC  := $(shell find src/cmd -name '*.c' | sort)
GEN_SRC  := build/gen/schema_tables.c build/gen/proto_tables.c
LIB_OBJ  := $(LIB_SRC:%.c=build/%.o) build/gen/schema_tables.o build/gen/proto_tables.o
CMD_OBJ  := $(CMD_SRC:%.c=build/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

.PHONY: all deps test unit e2e fuzz run clean format bench
all: bin/kubec

deps:
	@scripts/deps.sh

build/gen/schema_tables.c build/gen/schema_tables.h: api/schema/k8s-api-types.json api/schema/extra-types.json tools/gen_schema.py tools/schema_load.py
	@mkdir -p build/gen
	python3 tools/gen_schema.py api/schema/k8s-api-types.json build/gen

build/gen/proto_tables.c build/gen/proto_tables.h: api/schema/proto-fields.json api/schema/k8s-api-types.json api/schema/extra-types.json tools/gen_proto.py tools/schema_load.py
	@mkdir -p build/gen
	python3 tools/gen_proto.py api/schema/proto-fields.json api/schema/k8s-api-types.json build/gen

build/%.o: %.c build/gen/schema_tables.h build/gen/proto_tables.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

build/gen/%.o: build/gen/%.c
	$(CC) $(CFLAGS) -c $< -o $@

build/libkubec.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

bin/kubec: $(CMD_OBJ) build/libkubec.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) build/libkubec.a $(LDLIBS)

build/tests/%: tests/unit/%.c build/libkubec.a
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< build/libkubec.a -lcriterion $(LDLIBS)

# Fuzz targets: the library is built once more with clang and sanitizers (build/fuzzlib),
# then each target links it with libFuzzer.
FUZZ_CFLAGS := -g -O1 -std=gnu11 -Isrc -Ibuild/gen -D_GNU_SOURCE -fsanitize=address,undefined
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzzlib/%.o) build/fuzzlib/schema_tables.o build/fuzzlib/proto_tables.o
build/fuzzlib/%.o: %.c build/gen/schema_tables.h build/gen/proto_tables.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
build/fuzzlib/%_tables.o: build/gen/%_tables.c
	@mkdir -p build/fuzzlib
	clang $(FUZZ_CFLAGS) -c $< -o $@
build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p build/fuzz
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t --jobs 2; done

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build/corpus/$$n; \
	  if ! $$f -runs=50000 -max_total_time=10 -max_len=4096 build/corpus/$$n tests/fuzz/corpus/$$n \
	       > build/fuzz/$$n.log 2>&1; then tail -40 build/fuzz/$$n.log; echo "FUZZ FAILED: $$n"; exit 1; fi; \
	  echo "fuzz $$n: $$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' build/fuzz/$$n.log)"; done

e2e: bin/kubec
	/usr/bin/python3 -m pytest -q tests/e2e

test: deps
	$(MAKE) all unit fuzz
	$(MAKE) e2e

run: deps
	$(MAKE) all
	@scripts/run.sh

bench: deps
	$(MAKE) all
	bench/run.sh

format:
	clang-format -i $$(find src tests -name '*.[ch]')

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
