#!/bin/bash
echo "remote_coverage_tools is an offline placeholder: 'bazel coverage' is not supported in this workspace." >&2
exit 1
