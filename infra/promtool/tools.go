//go:build tools

// Package tools pins promtool's module for the rule checks in the test suite
// (`make provision` builds it into the git-ignored cache, through
// lanes_devstack.gotools). `go install ...promtool@version` is refused:
// Prometheus's go.mod has a replace directive, which only a main module like
// this one may carry.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
