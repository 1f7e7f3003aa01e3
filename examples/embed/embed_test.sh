#!/bin/bash
# The embedding example must build, run and pass its own checks.
exec "$TEST_SRCDIR/__main__/examples/embed/embed"
