//go:build tools

// Package tools pins promtool's module for the rule checks in the test suite
// (tests/observability/promtool.py builds it into the git-ignored cache).
// `go install ...promtool@version` is refused: Prometheus's go.mod has a
// replace directive, which only a main module like this one may carry.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
