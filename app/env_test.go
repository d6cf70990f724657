package app

import (
	"testing"
	"time"

	"github.com/sigil-dev/sigil/internal/httpretry"
)

// TestPacerBudgets: the hosts whose stated limits sigil designs for.
func TestPacerBudgets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ghcrHost string
		host     string
		want     httpretry.Budget
	}{
		{"", "ghcr.io", httpretry.Budget{Requests: 2000, Per: time.Minute, Burst: 100}},
		{"", "rekor.sigstore.dev", httpretry.Budget{Requests: 500, Per: time.Minute, Burst: 50}},
		{"", "registry-1.docker.io", httpretry.Budget{}},
		{"ghcr.example.com", "ghcr.example.com", httpretry.Budget{Requests: 2000, Per: time.Minute, Burst: 100}},
		{"ghcr.example.com", "ghcr.io", httpretry.Budget{}},
	}
	for _, tc := range tests {
		got := pacer(tc.ghcrHost).Budgets[tc.host]
		if got != tc.want {
			t.Errorf("pacer(%q): %s budget %+v, want %+v", tc.ghcrHost, tc.host, got, tc.want)
		}
	}
}
